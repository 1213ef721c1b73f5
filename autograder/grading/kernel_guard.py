"""Installed in every grading kernel by autograder/grading/sandbox.py, before the student's first cell.

- Integrity guard: the functions and classes of the modules hidden tests rely on (NumPy's and
  torch's comparisons, autograder, reference_impl, course, capstone) are recorded when they are imported. After
  every cell, anything replaced (`np.allclose = lambda *a, **k: True`, `checks.is_close = ...`) is put
  back, and so is a notebook name that pointed at one of them (`checks = FakeChecks()`), and each
  event is appended to the report file for grades.csv's flags column. A replacement made while a
  test cell runs (a patch hidden in the student's function) is caught when that cell ends: it is
  flagged, not undone.
- Machinery guard: the code that runs a cell and reports its errors and results (IPython's shell and ipykernel's
  kernel classes, methods set on those objects, the shell's custom exception handler) is recorded at install and
  put back after every cell, each change reported. So a wrong answer
  cannot make the test cells after it pass by swallowing their errors; one that does so while a test cell runs
  is flagged when that cell ends, too late for that cell, and scores 0 all the same if the values its checks
  recorded are wrong: autograder/grading/judge.py judges them outside the kernel (README: the threat model).
- Cells named and seeded: before every cell, `running_cell` is set to a digest of its source, with which the
  checks tag their evidence (autograder/checks/evidence.py) and the guard its reports (a test cell during which
  something was replaced scores 0: autograder/grading/judge.py), and the random generators (Python's, NumPy's global
  one, torch's) are seeded from it, so that a test cell draws the same inputs in a lesson's reference run as in
  every student's notebook, whatever the cells before it drew: autograder/grading/judge.py compares the two.
- A package may rebind its own functions: importing torch._dynamo (the first torch.optim step does) replaces
  torch.manual_seed by a functools.wraps wrapper of it that keeps dynamo from tracing it. A replacement
  whose every wrapper down its `__wrapped__` chain to the recorded function is code in that package's own
  files is accepted as the new original, neither flagged nor undone; one with a wrapper written anywhere
  else (a student's functools.wraps) is still flagged and put back.
"""

import hashlib
import importlib.abc
import os
import random
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
running_cell = ""  # cell_digest of the cell running now
# Packages that rebind their own functions to wrappers of them (torch._dynamo, on import).
SELF_WRAPPING_PACKAGES = ("torch",)


def install(report_path):
    shell = get_ipython()  # noqa: F821 (run by IPKernelApp.exec_lines, inside the kernel)
    shell.events.register("pre_run_cell", before_each_cell)
    guard = _Guard(report_path)
    sys.meta_path.insert(0, _SnapshotOnImport(guard))
    for name in list(sys.modules):
        guard.snapshot(name)
    machinery = _Machinery(shell)

    def after_each_cell(result):
        guard.report(machinery.restore())
        guard.check(shell.user_ns)

    shell.events.register("post_run_cell", after_each_cell)


def cell_digest(source):
    """The name of a cell by its source: the evidence's tag of a comparison, the seed of the cell's generators."""
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def before_each_cell(info):
    """Note which cell runs (`running_cell`); seed Python's, NumPy's and torch's generators from its source."""
    global running_cell
    running_cell = cell_digest(info.raw_cell)
    seed = int(running_cell[:8], 16)
    random.seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


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
        self.report(events)

    def report(self, events):
        """Append each event to the report, after the digest of the cell that just ran and a tab."""
        if events:
            with open(self.report_path, "a") as report:
                report.writelines(f"{running_cell}\t{event}\n" for event in events)


class _Machinery:
    """What runs a cell and reports its errors and results: the methods of the shell's and the kernel's classes, the
    methods set on those two objects, and the shell's own exception handler (set_custom_exc).

    Recorded when the guard is installed; after every cell, whatever was replaced, added or set is put back. A wrong
    answer that swallows the errors of the test cells after it (a custom exception handler, a run_cell that reports
    success) is then graded as it is. (sys.excepthook and sys.displayhook need no guard: IPython sets them anew
    around every cell.)
    """

    def __init__(self, shell):
        self.shell = shell
        self.owners = [owner for owner in (shell, getattr(shell, "kernel", None)) if owner is not None]
        self.classes = {
            cls: {name: value for name, value in vars(cls).items() if _is_code(value)}
            for owner in self.owners
            for cls in type(owner).__mro__
            if cls is not object
        }
        # ipykernel itself sets a method or two on the shell (its _showtraceback) before the guard is installed.
        self.instances = [(owner, self._methods_set_on(owner)) for owner in self.owners]
        self.handlers = (shell.custom_exceptions, shell.CustomTB)

    @staticmethod
    def _methods_set_on(owner):
        """{name: value} of the callables set on `owner` itself where its class has a method of that name."""
        return {
            name: value
            for name, value in vars(owner).items()
            if callable(value) and _is_code(getattr(type(owner), name, None))
        }

    def restore(self):
        """Put the recorded machinery back; one sentence per change, for the report."""
        events = []
        for cls, methods in self.classes.items():
            for name, method in methods.items():
                if vars(cls).get(name) is not method:
                    setattr(cls, name, method)
                    events.append(f"replaced {cls.__qualname__}.{name} (restored)")
            for name in [name for name, value in vars(cls).items() if name not in methods and _is_code(value)]:
                if any(name in vars(base) for base in cls.__mro__[1:]):  # shadows an inherited method
                    delattr(cls, name)
                    events.append(f"overrode {cls.__qualname__}.{name} (restored)")
        for owner, recorded in self.instances:
            for name, value in self._methods_set_on(owner).items():
                if recorded.get(name) is not value:
                    if name in recorded:
                        setattr(owner, name, recorded[name])
                    else:
                        delattr(owner, name)
                    events.append(f"replaced {type(owner).__qualname__}.{name} on its instance (restored)")
        if (self.shell.custom_exceptions, self.shell.CustomTB) != self.handlers:
            self.shell.custom_exceptions, self.shell.CustomTB = self.handlers
            events.append("set an exception handler on IPython (restored)")
        return events


def _is_code(value):
    """Whether a class attribute is behaviour: a function, a method descriptor or a property."""
    return isinstance(value, (types.FunctionType, classmethod, staticmethod, property))


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
