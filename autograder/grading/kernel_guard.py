"""Installed in every grading kernel by autograder/grading/sandbox.py, before the student's first cell.

- Integrity guard: the functions and classes of the modules hidden tests rely on (NumPy's and
  torch's comparisons, autograder, reference_impl, course, capstone) are recorded when they are imported. After
  every cell, anything replaced (`np.allclose = lambda *a, **k: True`, `checks.is_close = ...`) is put
  back, and so is a notebook name that pointed at one of them (`checks = FakeChecks()`), and each
  event is appended to the report file for grades.csv's flags column. A replacement made while a
  test cell runs (a patch hidden in the student's function) is caught when that cell ends: it is
  flagged, not undone.
"""

import importlib.abc
import sys
import types

PROTECTED_MODULES = {
    "numpy",
    "numpy.testing",
    "numpy.linalg",
    "math",
    "torch",
    "torch.testing",
    "torch.optim",
    "torch.nn.functional",
}
PROTECTED_PACKAGES = ("autograder", "reference_impl", "course", "capstone")


def install(report_path):
    shell = get_ipython()  # noqa: F821 (run by IPKernelApp.exec_lines, inside the kernel)
    guard = _Guard(report_path)
    sys.meta_path.insert(0, _SnapshotOnImport(guard))
    for name in list(sys.modules):
        guard.snapshot(name)
    shell.events.register("post_run_cell", lambda result: guard.check(shell.user_ns))


def _is_protected(module_name):
    return module_name in PROTECTED_MODULES or module_name.split(".")[0] in PROTECTED_PACKAGES


class _Guard:
    def __init__(self, report_path):
        self.report_path = report_path
        self.originals = {}  # module name -> {attribute: function, class or other callable (NumPy's dispatchers)}
        self.names = {}  # notebook global -> the protected object it pointed at after the last cell
        self.protected_ids = set()  # id() of every recorded callable, for a fast membership test

    def snapshot(self, module_name):
        module = sys.modules.get(module_name)
        if module is None or not _is_protected(module_name) or module_name in self.originals:
            return
        self.originals[module_name] = {
            name: value
            for name, value in vars(module).items()
            if callable(value) and not isinstance(value, types.ModuleType)
        }
        self.protected_ids.update(map(id, self.originals[module_name].values()))

    def is_protected_object(self, value):
        if isinstance(value, types.ModuleType):
            return _is_protected(value.__name__)
        return id(value) in self.protected_ids

    def check(self, namespace):
        events = []
        for module_name, functions in self.originals.items():
            module = sys.modules.get(module_name)
            if module is None:
                continue
            for name, original in functions.items():
                if getattr(module, name, original) is not original:
                    setattr(module, name, original)
                    events.append(f"replaced {module_name}.{name} (restored)")
        for name, original in self.names.items():
            if name in namespace and namespace[name] is not original and not self.is_protected_object(namespace[name]):
                namespace[name] = original
                events.append(f"rebound the name {name} (restored)")
        self.names = {
            name: value
            for name, value in namespace.items()
            if not name.startswith("_") and self.is_protected_object(value)
        }
        if events:
            with open(self.report_path, "a") as report:
                report.writelines(event + "\n" for event in events)


class _SnapshotOnImport(importlib.abc.MetaPathFinder):
    """Records a protected module's functions right after it is first imported, before a student can touch them."""

    def __init__(self, guard):
        self.guard = guard

    def find_spec(self, name, path, target=None):
        if not _is_protected(name):
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            spec = finder.find_spec(name, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                execute = spec.loader.exec_module

                def exec_and_snapshot(module, execute=execute):
                    execute(module)
                    self.guard.snapshot(module.__name__)

                spec.loader.exec_module = exec_and_snapshot
                return spec
        return None
