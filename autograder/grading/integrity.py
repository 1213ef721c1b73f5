"""Static checks of a submission against the release and the solution, reported in grades.csv's flags.

Nothing here changes a score: nbgrader restores the test cells itself (OverwriteCells, with
add_missing_cells), and the kernel guard undoes replaced helpers at run time. These flags tell
the instructor where to look:

- a test cell that was edited, deleted or moved before its answer;
- an answer cell that uses what the exercise is about to be written without: code from
  reference_impl, course, capstone or autograder, a ready-made torch.optim optimizer or scheduler, or that patches
  a module (`np.allclose = ...`, `setattr(checks, ...)`, `sys.modules[...]`). A use the solution's
  own answer cell makes is allowed (MomentumSGD subclasses torch.optim.Optimizer, say).
"""

import ast

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
# Names the lessons import in their set-up cells, before any answer.
DEFAULT_ALIASES = {"np": "numpy", "torch": "torch", "checks": "autograder.checks", "mistakes": "autograder.mistakes"}


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _is_test(cell):
    nbgrader = cell.metadata.get("nbgrader", {})
    return nbgrader.get("grade") and not nbgrader.get("solution")


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
    solution_answers = {
        _grade_id(cell): cell.source for cell in solution.cells if cell.metadata.get("nbgrader", {}).get("solution")
    }
    for grade_id, (_, cell) in submitted.items():
        if grade_id in solution_answers and cell.cell_type == "code":
            flags += [f"{grade_id} {finding}" for finding in scan_answer(cell.source, solution_answers[grade_id])]
    return flags


def scan_answer(source, solution_source):
    """What an answer cell does that it should not, each said once, e.g. 'uses torch.optim.SGD'."""
    allowed = set(_uses(solution_source)[0])
    used, patched = _uses(source)
    findings = [f"uses {name}" for name in used if _within(name, FORBIDDEN_PREFIXES) and not _within(name, allowed)]
    return list(dict.fromkeys(findings + [f"patches {name}" for name in patched]))


def _within(name, prefixes):
    """Whether dotted `name` is one of `prefixes` or inside one: `course.data` is within `course`, `courses` is not."""
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _uses(source):
    """(dotted names the code refers to or imports, module attributes it assigns) with aliases resolved."""
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return [], []  # nbgrader reports the error when it runs the cell
    aliases = dict(DEFAULT_ALIASES)
    used, patched = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                # `import torch.optim` binds `torch`; `import torch.optim as optim` binds `optim` to torch.optim.
                top = alias.name.split(".")[0]
                aliases[alias.asname or top] = alias.name if alias.asname else top
                used.append(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                used.append(f"{node.module}.{alias.name}")
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


def _dotted(node, aliases):
    """'torch.optim.SGD' for `optim.SGD` after `import torch.optim as optim`; None if not a chain of names."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([aliases.get(node.id, node.id), *reversed(parts)])


def _without_magics(source):
    """The cell with IPython magics and shell escapes blanked out, so that ast can parse it."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
