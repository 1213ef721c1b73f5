"""The kernel guard (autograder/grading/kernel_guard.py), driven directly: a fake module, a fake notebook namespace
and a fake IPython shell stand in for the grading kernel, so no kernel starts. torch's own rebinding of
torch.manual_seed is checked on the real torch, in a process of its own where torch._dynamo is not yet imported.
"""

import functools
import importlib
import importlib.abc
import importlib.util
import subprocess
import sys
import types
from types import SimpleNamespace

import pytest
import torch

from autograder.grading import kernel_guard
from autograder.grading.kernel_guard import _Guard, _is_protected, _SnapshotOnImport

FAKE = "reference_impl._fake_for_guard_test"


def original_helper(x):
    return x


class OriginalHelper:
    pass


@pytest.fixture
def fake_module(monkeypatch):
    """A protected module in sys.modules, holding two callables, a constant and a submodule."""
    module = types.ModuleType(FAKE)
    module.helper, module.Helper, module.CONSTANT, module.np = original_helper, OriginalHelper, 3, types
    monkeypatch.setitem(sys.modules, FAKE, module)
    return module


@pytest.fixture
def guard(tmp_path, fake_module):
    guard = _Guard(str(tmp_path / "report"))
    guard.snapshot(FAKE)
    return guard


def report(guard):
    """The sentences of the guard's report, each line's cell digest and tab left out."""
    return sentences(guard.report_path)


def sentences(report_path):
    with open(report_path) as report_file:
        return [line.partition("\t")[2] for line in report_file.read().splitlines()]


@pytest.mark.parametrize(
    ("module_name", "protected"),
    [
        ("numpy", True),
        ("numpy.testing", True),
        ("torch.optim", True),
        ("math", True),
        ("autograder.checks", True),
        ("reference_impl.optim.adam", True),
        ("course.views", True),
        ("capstone", True),
        ("json", False),
        ("numpyx", False),
        ("courses", False),
        ("torch.utils.data", False),
    ],
)
def test_protected_modules(module_name, protected):
    assert _is_protected(module_name) == protected


def test_snapshot_records_the_callables_of_protected_modules_only(guard, monkeypatch):
    assert guard.originals[FAKE] == {"helper": original_helper, "Helper": OriginalHelper}
    monkeypatch.setitem(sys.modules, "json_like_for_guard_test", types.ModuleType("json_like_for_guard_test"))
    guard.snapshot("json_like_for_guard_test")
    guard.snapshot("not_imported.anywhere")
    assert list(guard.originals) == [FAKE]


def test_replaced_functions_are_restored_and_reported(guard, fake_module):
    fake_module.helper = lambda x: 0
    fake_module.Helper = object
    guard.check({})
    assert (fake_module.helper, fake_module.Helper) == (original_helper, OriginalHelper)
    assert report(guard) == [f"replaced {FAKE}.helper (restored)", f"replaced {FAKE}.Helper (restored)"]


def test_nothing_replaced_writes_no_report(guard, tmp_path):
    guard.check({"x": 1})
    assert not (tmp_path / "report").exists()


def test_a_module_no_longer_imported_is_skipped(guard, monkeypatch):
    monkeypatch.delitem(sys.modules, FAKE)
    guard.check({})
    assert guard.originals[FAKE]["helper"] is original_helper


def test_rebound_names_are_restored(guard, fake_module):
    namespace = {"helper": fake_module.helper, "fake": fake_module, "_private": fake_module.helper, "n": 1}
    guard.check(namespace)  # the cell that imported them: the names are recorded
    namespace.update(helper=lambda x: 0, fake=SimpleNamespace(helper=lambda x: 0), _private=None, n=2)
    guard.check(namespace)
    assert (namespace["helper"], namespace["fake"]) == (original_helper, fake_module)
    assert (namespace["_private"], namespace["n"]) == (None, 2)  # private and unprotected names are the student's
    assert report(guard) == ["rebound the name helper (restored)", "rebound the name fake (restored)"]


def test_a_name_may_move_to_another_protected_object(guard, fake_module):
    namespace = {"helper": fake_module.helper}
    guard.check(namespace)
    namespace["helper"] = fake_module.Helper
    guard.check(namespace)
    namespace["helper"] = "mine"
    guard.check(namespace)
    assert namespace["helper"] is OriginalHelper
    assert report(guard) == ["rebound the name helper (restored)"]


def test_the_report_accumulates_over_cells(guard, fake_module):
    for _ in range(2):
        fake_module.helper = print
        guard.check({})
    assert report(guard) == [f"replaced {FAKE}.helper (restored)"] * 2


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.helper = original_helper


class _Finder(importlib.abc.MetaPathFinder):
    """Finds the module `name`, which exists nowhere on disk."""

    def __init__(self, name):
        self.name = name

    def find_spec(self, name, path, target=None):
        return importlib.util.spec_from_loader(name, _Loader()) if name == self.name else None


@pytest.fixture
def importable(monkeypatch):
    """`importable(name)` makes module `name` importable until the test ends (sys.meta_path is restored)."""
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    names = []

    def make(name):
        sys.meta_path.append(_Finder(name))
        names.append(name)

    yield make
    for name in names:
        sys.modules.pop(name, None)


def test_a_protected_module_imported_later_is_snapshotted_on_import(tmp_path, importable):
    name = "autograder._fake_imported_for_guard_test"
    importable(name)
    guard = _Guard(str(tmp_path / "report"))
    sys.meta_path.insert(0, _SnapshotOnImport(guard))
    module = importlib.import_module(name)
    assert guard.originals[name] == {"helper": original_helper}
    module.helper = print
    guard.check({})
    assert module.helper is original_helper


def test_unprotected_imports_pass_through(tmp_path, importable):
    importable("unprotected_fake_for_guard_test")
    guard = _Guard(str(tmp_path / "report"))
    assert _SnapshotOnImport(guard).find_spec("unprotected_fake_for_guard_test", None) is None
    assert importlib.import_module("unprotected_fake_for_guard_test").helper is original_helper
    assert guard.originals == {}


def test_install_guards_after_every_cell(tmp_path, fake_module, monkeypatch):
    """install() as the kernel runs it: snapshots what is imported, then checks after each cell."""
    # Only the fake module is protected, so that the real NumPy and torch of this process stay untouched.
    monkeypatch.setattr(kernel_guard, "PROTECTED_MODULES", set())
    monkeypatch.setattr(kernel_guard, "PROTECTED_PACKAGES", ("reference_impl",))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    callbacks = []
    shell = SimpleNamespace(
        user_ns={},
        events=SimpleNamespace(register=lambda event, callback: callbacks.append((event, callback))),
        custom_exceptions=(),
        CustomTB=None,
    )
    monkeypatch.setattr(kernel_guard, "get_ipython", lambda: shell, raising=False)

    kernel_guard.install(str(tmp_path / "report"))
    assert isinstance(sys.meta_path[0], _SnapshotOnImport)
    [(first_event, before_cell), (event, after_cell)] = callbacks
    assert (first_event, before_cell, event) == ("pre_run_cell", kernel_guard.before_each_cell, "post_run_cell")
    fake_module.helper = print
    after_cell(None)
    assert fake_module.helper is original_helper
    assert sentences(tmp_path / "report") == [f"replaced {FAKE}.helper (restored)"]


def test_torchs_own_rewrap_is_neither_flagged_nor_undone(tmp_path):
    """Importing torch._dynamo (the first torch.optim step does) rebinds torch.manual_seed to a wrapper of it."""
    report_path = tmp_path / "report"
    script = f"""
import sys
import torch
from autograder.grading.kernel_guard import _Guard

guard = _Guard({str(report_path)!r})
guard.snapshot("torch")
original = torch.manual_seed
assert "torch._dynamo" not in sys.modules
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1).step()
assert torch.manual_seed is not original, "torch no longer rebinds manual_seed: this test needs another example"
wrapper = torch.manual_seed
guard.check({{}})
assert torch.manual_seed is wrapper, "torch's wrapper was undone"
torch.manual_seed = lambda seed: None
guard.check({{}})
assert torch.manual_seed is wrapper, "a replacement of torch's wrapper was not put back"
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    assert sentences(report_path) == ["replaced torch.manual_seed (restored)"]


@pytest.fixture
def torch_guard(tmp_path, monkeypatch):
    """A guard that recorded the real torch module; torch.manual_seed is put back when the test ends."""
    monkeypatch.setattr(torch, "manual_seed", torch.manual_seed)
    guard = _Guard(str(tmp_path / "report"))
    guard.snapshot("torch")
    return guard


def seeds_zero_wrapping(original):
    """A student's replacement of `original`, made to look like it with functools.wraps."""

    @functools.wraps(original)
    def seeds_zero(seed):
        return original(0)

    return seeds_zero


def torch_function_given_wrapped(original, monkeypatch):
    """A function the guard recorded, from torch's own files, given `original` as its __wrapped__."""
    monkeypatch.setattr(torch.is_tensor, "__wrapped__", original, raising=False)
    return torch.is_tensor


def torch_wrapper_looping(original, monkeypatch):
    """A wrapper made by torch's code whose __wrapped__ chain loops instead of reaching `original`."""
    looped = torch._disable_dynamo(original)
    looped.__wrapped__ = looped
    return looped


@pytest.mark.parametrize(
    "replace",
    [
        lambda original, monkeypatch: seeds_zero_wrapping(original),
        lambda original, monkeypatch: torch._disable_dynamo(seeds_zero_wrapping(original)),
        torch_function_given_wrapped,
        torch_wrapper_looping,
    ],
    ids=["functools.wraps", "torch's wrapper around the student's", "recorded function", "looping chain"],
)
def test_a_students_wrapper_of_a_torch_function_is_flagged(torch_guard, monkeypatch, replace):
    original = torch.manual_seed
    torch.manual_seed = replace(original, monkeypatch)
    torch_guard.check({})
    assert torch.manual_seed is original
    assert report(torch_guard) == ["replaced torch.manual_seed (restored)"]


def test_only_self_wrapping_packages_may_rewrap(guard, fake_module):
    """reference_impl is not torch: even a wrapper whose chain reaches the original is put back."""
    fake_module.helper = functools.wraps(original_helper)(lambda x: x)
    guard.check({})
    assert fake_module.helper is original_helper
    assert report(guard) == [f"replaced {FAKE}.helper (restored)"]


@pytest.fixture
def ipython_shell():
    """A real IPython shell in this process, removed afterwards."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    yield shell
    InteractiveShell.clear_instance()


def test_the_machinery_that_reports_errors_is_put_back_after_a_cell(ipython_shell, monkeypatch):
    """A wrong answer that swallows later errors: a custom exception handler, a run_cell that reports success on the
    class, a showtraceback that shows nothing on the shell. Each is undone and reported; what ipykernel set on the
    shell before the guard was installed stays."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = ipython_shell
    kernels_own = shell._showtraceback = lambda *args: None  # as ipykernel's kernelapp sets it, before the guard
    machinery = kernel_guard._Machinery(shell)
    run_cell = InteractiveShell.run_cell

    shell.set_custom_exc((Exception,), lambda *args, **kwargs: None)
    monkeypatch.setattr(InteractiveShell, "run_cell", lambda *args, **kwargs: None)
    shell.showtraceback = lambda *args, **kwargs: None
    shell._showtraceback = print

    assert sorted(machinery.restore()) == [
        "replaced InteractiveShell._showtraceback on its instance (restored)",
        "replaced InteractiveShell.run_cell (restored)",
        "replaced InteractiveShell.showtraceback on its instance (restored)",
        "set an exception handler on IPython (restored)",
    ]
    assert InteractiveShell.run_cell is run_cell and shell._showtraceback is kernels_own
    assert "showtraceback" not in vars(shell) and shell.custom_exceptions == ()
    del shell._showtraceback
    result = shell.run_cell("raise ValueError('reported')")
    assert isinstance(result.error_in_exec, ValueError)
    assert machinery.restore() == []


def test_each_event_is_reported_with_the_cell_that_ran(guard, fake_module, monkeypatch):
    """The judge scores 0 a test cell during which something was replaced: the report says which cell that was."""
    monkeypatch.setattr(kernel_guard, "running_cell", kernel_guard.cell_digest("the test cell"))
    fake_module.helper = print
    guard.check({})
    with open(guard.report_path) as report_file:
        assert report_file.read() == f"{kernel_guard.cell_digest('the test cell')}\treplaced {FAKE}.helper (restored)\n"
