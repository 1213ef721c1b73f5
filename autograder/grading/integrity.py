"""Static checks of a submission against the release and the solution, reported in grades.csv's flags.

Nothing here changes a score: nbgrader restores the test cells itself (OverwriteCells, with
add_missing_cells), the kernel guard undoes replaced helpers at run time, and the checks' `forbidden=` fails an
answer that calls a ready-made implementation of its exercise. These flags tell the instructor where to look:

- a test cell that was edited, deleted or moved before its answer;
- an answer cell that uses what the exercise is about to be written without: code from reference_impl, course,
  capstone or autograder, a ready-made torch.optim optimizer or scheduler, or one of the names its lesson's
  catalogue declares the exercise must not call (`MUST_NOT_CALL` of autograder/mistakes/<module>.py, e.g.
  torch.nn.utils.clip_grad_norm_ for clip_grad_norm), or that patches a module (`np.allclose = ...`,
  `setattr(checks, ...)`, `sys.modules[...]`). A use the solution's own answer cell makes is allowed
  (MomentumSGD subclasses torch.optim.Optimizer, say).

Names are read as the notebook binds them: `reference_adam.adam_step(...)` is reference_impl.optim.adam.adam_step
when a cell the release runs before the answer (the setup cell, a test cell) did `from reference_impl.optim import
adam as reference_adam`, unless the answer binds that name itself (a parameter, a local variable). The scan reads
text; an answer that reaches a forbidden function some other way (getattr, a variable holding the module) is
caught at run time by the checks' `forbidden=` (autograder/checks/forbidden.py) and the kernel guard.
"""

import ast
import importlib
import threading

from autograder.grading.structure import nbgrader_metadata
from course.lessons import LESSONS

# Dotted-name prefixes an answer must not use unless the solution's answer does.
FORBIDDEN_PREFIXES = (
    "reference_impl",
    "course",
    "capstone",
    "autograder",
    "torch.optim",
    "sys.modules",
    "builtins",
    "get_ipython",
)
# What the setup cells hand every cell for plots and run sizes: no exercise is about them.
PRESENTATION_HELPERS = ("course.PALETTE", "course.use_course_style", "course.sized", "course.fast_mode")
# Names the lessons import in their set-up cells, before any answer; a lesson's release adds its own.
DEFAULT_ALIASES = {"np": "numpy", "torch": "torch", "checks": "autograder.checks", "mistakes": "autograder.mistakes"}
# ast.parse is not thread-safe in CPython 3.11 (a SystemError, "AST constructor recursion depth mismatch", seen with
# two grading workers): the grader's workers are threads, so one parses at a time.
_PARSING = threading.Lock()
SETUP_SUFFIX = "_setup"
ANSWER_SUFFIX = "_answer"


def _grade_id(cell):
    grade_id = nbgrader_metadata(cell).get("grade_id")
    return grade_id if isinstance(grade_id, str) else None


def _is_test(cell):
    nbgrader = nbgrader_metadata(cell)
    return nbgrader.get("grade") and not nbgrader.get("solution")


def _is_answer(cell):
    return bool(nbgrader_metadata(cell).get("solution"))


def scan(submission, release, solution):
    """Flags (strings) for a submitted notebook, given the lesson's release and solution notebooks."""
    flags = []
    submitted = {_grade_id(cell): (index, cell) for index, cell in enumerate(submission.cells) if _grade_id(cell)}
    released_order = [_grade_id(cell) for cell in release.cells if _grade_id(cell)]
    for cell in release.cells:
        if not _is_test(cell):
            continue
        grade_id = _grade_id(cell)
        if grade_id not in submitted:
            flags.append(f"deleted test cell {grade_id} (restored)")
        elif submitted[grade_id][1].source.strip() != cell.source.strip():
            flags.append(f"edited test cell {grade_id} (restored)")
    present = [grade_id for grade_id in released_order if grade_id in submitted]
    if [submitted[grade_id][0] for grade_id in present] != sorted(submitted[grade_id][0] for grade_id in present):
        flags.append("graded cells out of order")
    solution_answers = {_grade_id(cell): cell.source for cell in solution.cells if _is_answer(cell)}
    lesson = _lesson(release)
    must_not_call = _must_not_call(lesson)
    aliases = aliases_before_answers(release)
    for grade_id, (_, cell) in submitted.items():
        if grade_id in solution_answers and cell.cell_type == "code":
            exercise = grade_id.removeprefix(f"{lesson}_").removesuffix(ANSWER_SUFFIX)
            findings = scan_answer(
                cell.source,
                solution_answers[grade_id],
                aliases=aliases.get(grade_id, DEFAULT_ALIASES),
                must_not_call=must_not_call.get(exercise, ()),
            )
            flags += [f"{grade_id} {finding}" for finding in findings]
    return flags


def _lesson(release):
    """The lesson's name, read off its setup cell's grade_id (`<lesson>_setup`); None for a notebook without one."""
    setup = next((_grade_id(cell) for cell in release.cells if (_grade_id(cell) or "").endswith(SETUP_SUFFIX)), None)
    return setup and setup.removesuffix(SETUP_SUFFIX)


def _must_not_call(lesson):
    """{exercise: dotted names} from the lesson's catalogue of mistakes; empty where it declares none (yet)."""
    module = next((entry.mistakes for entry in LESSONS if entry.name == lesson), None)
    if module is None:
        return {}
    return getattr(importlib.import_module(f"autograder.mistakes.{module}"), "MUST_NOT_CALL", {})


def aliases_before_answers(release):
    """{answer cell grade_id: {name: dotted name}}: what the release's cells above each answer have imported.

    The defaults, then every module-level import of the release's code cells in order (the setup cell, test
    cells, the text of answer cells around their stubs): a name an answer cell uses means what it means when
    that cell runs.
    """
    aliases, before = dict(DEFAULT_ALIASES), {}
    for cell in release.cells:
        if cell.cell_type != "code":
            continue
        if _is_answer(cell):
            before[_grade_id(cell)] = dict(aliases)
        tree = _parse(cell.source)
        for node in _module_level_imports(tree) if tree else ():
            aliases.update((name, target) for name, target, _imported in _imports(node))
    return before


def scan_answer(source, solution_source, *, aliases=None, must_not_call=()):
    """What an answer cell does that it should not, each said once, e.g. 'uses torch.optim.SGD'.

    `aliases` maps the names the notebook has bound before the cell to dotted names (DEFAULT_ALIASES if None);
    `must_not_call`: dotted names the exercise must not use, beyond FORBIDDEN_PREFIXES.
    """
    aliases = DEFAULT_ALIASES if aliases is None else aliases
    allowed = set(_uses(solution_source, aliases)[0])
    used, patched = _uses(source, aliases)
    forbidden = FORBIDDEN_PREFIXES + tuple(must_not_call)
    findings = [
        f"uses {name}"
        for name in used
        if _within(name, forbidden) and not _within(name, PRESENTATION_HELPERS) and not _within(name, allowed)
    ]
    return list(dict.fromkeys(findings + [f"patches {name}" for name in patched]))


def _within(name, prefixes):
    """Whether dotted `name` is one of `prefixes` or inside one: `course.data` is within `course`, `courses` is not."""
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _uses(source, inherited_aliases):
    """(dotted names the code refers to or imports, module attributes it assigns) with aliases resolved.

    `inherited_aliases` are the names bound before the cell; a name the cell binds itself (other than by an
    import) is its own: `def f(clipping): clipping.x` does not refer to reference_impl.clipping.
    """
    tree = _parse(source)
    if tree is None:
        return [], []  # nbgrader reports the error when it runs the cell
    own = _names_bound(tree)
    aliases = {name: target for name, target in inherited_aliases.items() if name not in own}
    used, patched = [], []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for name, target, imported in _imports(node):
                aliases[name] = target
                used.append(imported)
    # Only whole chains count: `torch.optim.SGD`, not also its part `torch.optim`.
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Name)) and isinstance(node.ctx, ast.Load) and id(node) not in inner:
            dotted = _dotted(node, aliases)
            if dotted and dotted.split(".")[0] != dotted:
                used.append(dotted)
            elif dotted in ("get_ipython", "__builtins__"):
                used.append(dotted if dotted == "get_ipython" else "builtins")
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Attribute) and isinstance(target.value, (ast.Name, ast.Attribute)):
                    owner = _dotted(target.value, aliases)
                    if owner and owner in aliases.values():  # an attribute of an imported module or object
                        patched.append(f"{owner}.{target.attr}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" and node.args:
            owner = _dotted(node.args[0], aliases)
            if owner in aliases.values():
                patched.append(f"{owner} (setattr)")
    return list(dict.fromkeys(used)), list(dict.fromkeys(patched))


def _imports(node):
    """(name bound, dotted name it stands for, dotted name imported) for each name an import statement binds."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            # `import torch.optim` binds `torch`; `import torch.optim as optim` binds `optim` to torch.optim.
            top = alias.name.split(".")[0]
            yield alias.asname or top, alias.name if alias.asname else top, alias.name
    elif node.module:  # `from . import x` (no module) names nothing the scan knows
        for alias in node.names:
            yield alias.asname or alias.name, f"{node.module}.{alias.name}", f"{node.module}.{alias.name}"


def _module_level_imports(node):
    """The imports that bind names of the notebook, in order: not those inside a function or class."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        elif not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            yield from _module_level_imports(child)


def _names_bound(tree):
    """Names the code binds other than by importing: assigned, deleted, parameters, functions, classes, exceptions."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _dotted(node, aliases):
    """'torch.optim.SGD' for `optim.SGD` after `import torch.optim as optim`; None if not a chain of names."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([aliases.get(node.id, node.id), *reversed(parts)])


def _parse(source):
    """The cell's syntax tree, IPython magics and shell escapes blanked out; None if it does not parse."""
    lines = ("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        with _PARSING:
            return ast.parse("\n".join(lines))
    except SyntaxError:
        return None
