"""The integrity scan (autograder/grading/integrity.py) on notebooks and answer cells built here, without nbgrader.

Every kind of flag is raised once, and the uses the scan must allow (what the solution uses itself,
names that merely begin like a forbidden package) raise none.
"""

import copy

import pytest
from nbformat.v4 import new_code_cell

from autograder.grading.integrity import scan, scan_answer
from fixtures.courses import fill_in, release_of, toy_solution

LESSON = "toy"
SOLUTION = toy_solution(LESSON)
RELEASE = release_of(SOLUTION)


def cell_index(notebook, grade_id):
    return next(
        index
        for index, cell in enumerate(notebook.cells)
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


def submitted(edit=None, answers=None):
    """The release with the solution's answers typed in (`answers`: edits as fill_in takes them), then `edit(cells)`."""
    notebook = fill_in(RELEASE, SOLUTION, answers)
    if edit is not None:
        notebook.cells = edit(copy.deepcopy(notebook.cells))
    return notebook


def test_honest_submission_has_no_flags():
    assert scan(submitted(), RELEASE, SOLUTION) == []


def test_extra_cells_and_outer_whitespace_are_not_flagged():
    def add_notes(cells):
        cells[cell_index(RELEASE, "toy_square")].source += "\n\n"
        return [copy.deepcopy(cells[0])] + cells + [copy.deepcopy(cells[0])]

    assert scan(submitted(add_notes), RELEASE, SOLUTION) == []


def test_deleted_test_cell():
    def delete(cells):
        del cells[cell_index(RELEASE, "toy_cube")]
        return cells

    assert scan(submitted(delete), RELEASE, SOLUTION) == ["deleted test cell toy_cube (restored)"]


def test_edited_test_cell():
    def edit(cells):
        cells[cell_index(RELEASE, "toy_square")].source = "assert True"
        return cells

    assert scan(submitted(edit), RELEASE, SOLUTION) == ["edited test cell toy_square (restored)"]


def test_graded_cells_out_of_order():
    def swap(cells):
        test, answer = cell_index(RELEASE, "toy_cube"), cell_index(RELEASE, "toy_cube_answer")
        cells[test], cells[answer] = cells[answer], cells[test]
        return cells

    assert scan(submitted(swap), RELEASE, SOLUTION) == ["graded cells out of order"]


def test_answer_findings_are_prefixed_with_the_answer_cell():
    answers = {"toy_square_answer": [("return x * x", "import reference_impl\n    return x * x")]}
    assert scan(submitted(answers=answers), RELEASE, SOLUTION) == ["toy_square_answer uses reference_impl"]


@pytest.mark.parametrize("package", ["reference_impl", "course", "capstone", "autograder"])
def test_course_packages_are_flagged_unless_the_solution_uses_them(package):
    answer = f"from {package}.helpers import answer\nreturn answer(x)"
    assert scan_answer(f"import {package}", "") == [f"uses {package}"]
    assert scan_answer(answer, "return x * x") == [f"uses {package}.helpers.answer"]
    assert scan_answer(answer, f"from {package}.helpers import answer") == []
    # Allowed is what the solution uses, not the whole package.
    assert scan_answer(f"{answer}\nimport {package}.other", f"from {package}.helpers import answer") == [
        f"uses {package}.other"
    ]


@pytest.mark.parametrize(
    "source",
    [
        "courses.append(1)",
        "import courses\ncourses.sort()",
        "capstones = []\ncapstones.append(2)",
        "reference_implementation = {}\nreference_impl_like = reference_implementation.get('x')",
    ],
)
def test_names_that_only_begin_like_a_package_are_not_flagged(source):
    assert scan_answer(source, "") == []


def test_ready_made_torch_optimizers():
    assert scan_answer("opt = torch.optim.SGD(params, lr=0.1)", "") == ["uses torch.optim.SGD"]
    assert scan_answer("from torch.optim import Adam", "") == ["uses torch.optim.Adam"]
    assert "uses torch.optim.Adam" in scan_answer("import torch.optim as optim\noptim.Adam(params)", "")
    assert scan_answer("sched = torch.optim.lr_scheduler.StepLR(opt, 10)", "") == [
        "uses torch.optim.lr_scheduler.StepLR"
    ]
    # The solution subclasses torch.optim.Optimizer: that is allowed, a ready-made optimizer still is not.
    solution = "class MomentumSGD(torch.optim.Optimizer):\n    pass"
    assert scan_answer("class Mine(torch.optim.Optimizer):\n    pass", solution) == []
    assert scan_answer("class Mine(torch.optim.SGD):\n    pass", solution) == ["uses torch.optim.SGD"]


def test_everyday_numpy_and_torch_are_not_flagged():
    assert scan_answer("import numpy as np\nreturn np.linalg.norm(torch.as_tensor(x).numpy())", "") == []


def test_patched_modules():
    assert scan_answer("np.allclose = lambda *args, **kwargs: True", "") == ["patches numpy.allclose"]
    assert scan_answer("import numpy.testing as npt\nnpt.assert_allclose = print", "") == [
        "patches numpy.testing.assert_allclose"
    ]
    findings = scan_answer("setattr(checks, 'check_rule', lambda *args: None)", "")
    assert "patches autograder.checks (setattr)" in findings
    assert "uses autograder.checks" in findings


def test_interpreter_internals():
    assert scan_answer("sys.modules['numpy'] = fake", "") == ["uses sys.modules"]
    assert scan_answer("__builtins__['len'] = fake", "") == ["uses builtins"]
    assert scan_answer("import builtins\nbuiltins.len = fake", "") == ["uses builtins", "patches builtins.len"]
    assert scan_answer("get_ipython().run_line_magic('load_ext', 'x')", "") == ["uses get_ipython"]


def test_each_finding_is_said_once():
    source = "import reference_impl\nreference_impl.sgd(1)\nreference_impl.sgd(2)\nnp.allclose = 1\nnp.allclose = 2"
    assert scan_answer(source, "") == ["uses reference_impl", "uses reference_impl.sgd", "patches numpy.allclose"]


def test_magics_are_skipped_and_broken_code_is_left_to_nbgrader():
    assert scan_answer("%timeit reference_impl.sgd(1)\n!pip install courses\nreturn x * x", "") == []
    assert scan_answer("def broken(:\n    import reference_impl", "") == []


# --- names bound by the release's cells, and what each exercise must not call ---------------------------------------


def with_setup(lesson, source):
    """A toy lesson's solution with a setup cell (grade_id <lesson>_setup, locked, no points) after its title."""
    solution = toy_solution(lesson)
    setup = new_code_cell(
        source,
        metadata={"nbgrader": {"grade_id": f"{lesson}_setup", "locked": True, "grade": False, "solution": False}},
    )
    solution.cells.insert(1, setup)
    return solution


SETUP = (
    "import numpy as np\n"
    "from torch import nn\n"
    "import torch.nn.functional as F\n"
    "from course import PALETTE\n"
    "from course.fallback import implemented_or_reference\n"
    "from reference_impl import diagnostics\n"
    "from reference_impl.optim import adam as reference_adam\n"
    "import reference_impl.clipping as clipping\n"
    "def helper():\n"
    "    from reference_impl import schedules  # binds a name inside helper only\n"
)


def scan_with_setup(answer, lesson=LESSON):
    """The flags of a toy lesson with the setup cell SETUP when the answer of `square` is `answer` (its body)."""
    solution = with_setup(lesson, SETUP)
    release = release_of(solution)
    notebook = fill_in(release, solution, {f"{lesson}_square_answer": [("return x * x", answer)]})
    return scan(notebook, release, solution)


def test_the_setup_cells_aliases_are_resolved():
    assert scan_with_setup("return reference_adam.adam_step(x)") == [
        "toy_square_answer uses reference_impl.optim.adam.adam_step"
    ]
    assert scan_with_setup("return diagnostics.largest_stable_lr(x)") == [
        "toy_square_answer uses reference_impl.diagnostics.largest_stable_lr"
    ]
    assert scan_with_setup("return clipping.clip_grad_norm(x, 1.0)") == [
        "toy_square_answer uses reference_impl.clipping.clip_grad_norm"
    ]
    assert scan_with_setup("return implemented_or_reference(x)") == [
        "toy_square_answer uses course.fallback.implemented_or_reference"
    ]
    # The module itself, handed on under another name, is a use too.
    assert scan_with_setup("module = clipping\n    return module.clip_grad_norm(x, 1.0)") == [
        "toy_square_answer uses reference_impl.clipping"
    ]


def test_names_the_answer_binds_itself_and_plotting_helpers_are_not_flagged():
    assert scan_with_setup("clipping = [x]\n    return clipping.count(x) * x * x") == []
    assert scan_with_setup("return (lambda diagnostics: diagnostics.real * x)(x)") == []
    assert scan_with_setup("for reference_adam in [x]:\n        pass\n    return reference_adam.real * x") == []
    assert scan_with_setup("color = PALETTE[0]\n    return x * x") == []
    assert scan_with_setup("return schedules.cosine(x)") == []  # the setup bound it inside a function only


def test_a_name_means_what_the_release_bound_above_the_answer():
    # The test cell of `square` imports a reference the answer of `cube`, below it, could use.
    solution = with_setup(LESSON, SETUP)
    test_cell = solution.cells[cell_index(solution, "toy_square")]
    test_cell.source = (
        "from reference_impl.landscapes import gradient_descent_path as reference_path\n" + test_cell.source
    )
    release = release_of(solution)
    notebook = fill_in(
        release,
        solution,
        {
            "toy_square_answer": [("return x * x", "return reference_path(x)")],
            "toy_cube_answer": [("return x ** 3", "return reference_path(x)")],
        },
    )
    # Above the import, reference_path is the answer's own (undefined) name; below it, the reference.
    assert scan(notebook, release, solution) == ["toy_cube_answer uses reference_impl.landscapes.gradient_descent_path"]


CLIPPING_LESSON = "05_gradient_clipping"  # a lesson of course.lessons, whose catalogue is autograder.mistakes.clipping
MUST_NOT_CALL = {"square": ("torch.nn.utils.clip_grad_norm_", "torch.nn.functional.dropout")}


@pytest.mark.parametrize(
    "answer",
    [
        "return torch.nn.utils.clip_grad_norm_([x], 1.0)",  # directly
        "return nn.utils.clip_grad_norm_([x], 1.0)",  # through the setup's alias
        "return F.dropout(x, 0.5)",
        "from torch.nn.utils import clip_grad_norm_ as clip\n    return clip([x], 1.0)",  # by importing it
        "import torch.nn.functional as functional\n    return functional.dropout(x)",
    ],
)
def test_what_the_exercise_must_not_call_is_flagged_in_its_answer(monkeypatch, answer):
    import autograder.mistakes.clipping as catalogue

    monkeypatch.setattr(catalogue, "MUST_NOT_CALL", MUST_NOT_CALL, raising=False)
    flags = scan_with_setup(answer, CLIPPING_LESSON)
    assert len(flags) == 1
    assert flags[0] in [f"{CLIPPING_LESSON}_square_answer uses {name}" for name in MUST_NOT_CALL["square"]]


def test_must_not_call_holds_for_its_own_exercise_and_may_be_missing(monkeypatch):
    import autograder.mistakes.clipping as catalogue

    answer = "return nn.utils.clip_grad_norm_([x], 1.0)"
    monkeypatch.setattr(catalogue, "MUST_NOT_CALL", {"cube": MUST_NOT_CALL["square"]}, raising=False)
    assert scan_with_setup(answer, CLIPPING_LESSON) == []  # another exercise's list
    monkeypatch.delattr(catalogue, "MUST_NOT_CALL", raising=False)
    assert scan_with_setup(answer, CLIPPING_LESSON) == []  # a catalogue that declares none yet


def test_must_not_call_allows_what_the_solution_uses_and_matches_whole_components():
    names = MUST_NOT_CALL["square"]
    solution = "return torch.nn.functional.dropout(x, 0.0)"
    assert scan_answer("return torch.nn.functional.dropout(x, 0.5)", solution, must_not_call=names) == []
    assert scan_answer("return torch.nn.functional.dropout2d(x)", "", must_not_call=names) == []
    assert scan_answer("return torch.nn.functional.dropout(x)", "", must_not_call=names) == [
        "uses torch.nn.functional.dropout"
    ]
