"""Installed in every grading kernel by autograder/grading/sandbox.py, before the student's first cell.

- Integrity guard: the functions and classes of the modules hidden tests rely on (NumPy's and
  torch's comparisons, autograder, reference_impl, course, capstone) are recorded when they are imported. After
  every cell, anything replaced (`np.allclose = lambda *a, **k: True`, `checks.is_close = ...`) is put
  back, and so is a notebook name that pointed at one of them (`checks = FakeChecks()`), and each
  event is appended to the report file for grades.csv's flags column. A replacement made while a
  test cell runs (a patch hidden in the student's function) is caught when that cell ends: it is
  flagged, not undone.
- A package may rebind its own functions: importing torch._dynamo (the first torch.optim step does) replaces
  torch.manual_seed by a functools.wraps wrapper of it that keeps dynamo from tracing it. A replacement
  whose every wrapper down its `__wrapped__` chain to the recorded function is code in that package's own
  files is accepted as the new original, neither flagged nor undone; one with a wrapper written anywhere
  else (a student's functools.wraps) is still flagged and put back.
"""

import importlib.abc
import os
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
# Packages that rebind their own functions to wrappers of them (torch._dynamo, on import).
SELF_WRAPPING_PACKAGES = ("torch",)


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

    def is_own_wrapper(self, replacement, original, module_name):
        """Whether `replacement` wraps `original` (its `__wrapped__` chain reaches it) through new functions whose
        code lies in the installed files of the module's package, one of SELF_WRAPPING_PACKAGES.

        New: none of them is a function the guard recorded, to which a student could give a `__wrapped__`.
        """
        package = sys.modules.get(module_name.split(".")[0])
        if package is None or package.__name__ not in SELF_WRAPPING_PACKAGES:
            return False
        package_folder = os.path.join(os.path.dirname(os.path.realpath(package.__file__)), "")
        wrappers = set()  # a chain that loops back is no wrapper
        while replacement is not original:
            code = getattr(replacement, "__code__", None)
            if code is None or id(replacement) in self.protected_ids or id(replacement) in wrappers:
                return False
            if not os.path.realpath(code.co_filename).startswith(package_folder):
                return False
            wrappers.add(id(replacement))
            replacement = getattr(replacement, "__wrapped__", None)
        return True

    def check(self, namespace):
        events = []
        for module_name, functions in self.originals.items():
            module = sys.modules.get(module_name)
            if module is None:
                continue
            for name, original in functions.items():
                current = getattr(module, name, original)
                if current is original:
                    continue
                if self.is_own_wrapper(current, original, module_name):
                    functions[name] = current
                    self.protected_ids.add(id(current))
                else:
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
