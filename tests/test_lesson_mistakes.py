"""Each lesson's own graded cells (self-check and hidden tests) pass on the solution, reject every known
mistake of autograder/mistakes/ with a message naming it, and fail on an unanswered stub. The visible self-check
alone (the graded cell as the student's release holds it) rejects and names every known mistake too, except
those its lesson lists in HIDDEN_ONLY, each with the reason, which the self-check says in a line of its own.

This is the one place the catalogues are run; tests/test_checks.py tests the checks themselves."""

import importlib
import re

import pytest

from course.lessons import LESSONS
from notebook_runner import graded_cell_source, run_graded_cell

MISTAKES = {lesson.name: importlib.import_module(f"autograder.mistakes.{lesson.mistakes}") for lesson in LESSONS}
EXERCISES = [
    (lesson, exercise, answers) for lesson, module in MISTAKES.items() for exercise, answers in module.EXERCISES.items()
]
# A lesson module's tables that are not catalogues of wrong answers fed to EXERCISES.
NOT_CATALOGUES = ("EXERCISES", "MUST_NOT_CALL", "HANDED_OVER", "HIDDEN_ONLY")
KNOWN_MISTAKES = [
    pytest.param(lesson, exercise, name, description, wrong, id=f"{lesson[:2]}-{exercise}: {description[:40]}")
    for lesson, exercise, answers in EXERCISES
    for name, catalogue in answers.items()
    for description, wrong in catalogue.items()
]


@pytest.mark.parametrize("lesson", MISTAKES)
def test_every_catalogue_is_fed_to_a_graded_cell_and_holds_wrong_answers(lesson):
    module = MISTAKES[lesson]
    catalogues = {
        name
        for name, value in vars(module).items()
        if name.isupper() and name not in NOT_CATALOGUES and isinstance(value, dict)
    }
    fed = {
        name
        for name in catalogues
        for answers in module.EXERCISES.values()
        if any(catalogue is getattr(module, name) for catalogue in answers.values())
    }
    assert catalogues == fed, f"catalogues no graded cell is fed: {sorted(catalogues - fed)}"
    for answers in module.EXERCISES.values():
        for catalogue in answers.values():
            # `mistakes=` means wrong answers called as the student's are, never hyperparameter changes.
            assert catalogue and all(callable(wrong) for wrong in catalogue.values())


def exercise_id(value):
    return value if isinstance(value, str) else None


@pytest.mark.parametrize("lesson, exercise, answers", EXERCISES, ids=exercise_id)
def test_the_solution_passes_its_graded_cell(lesson, exercise, answers):
    run_graded_cell(lesson, exercise)


@pytest.mark.parametrize("lesson, exercise, name, description, wrong", KNOWN_MISTAKES)
def test_each_known_mistake_fails_and_is_named(lesson, exercise, name, description, wrong):
    with pytest.raises(AssertionError, match=f"That is what you get if you {re.escape(description)}"):
        run_graded_cell(lesson, exercise, {name: wrong})


def hidden_only(lesson, exercise):
    """{description: reason} of the known mistakes only the hidden tests of `exercise` catch (HIDDEN_ONLY)."""
    return getattr(MISTAKES[lesson], "HIDDEN_ONLY", {}).get(exercise, {})


VISIBLY_CAUGHT = [mistake for mistake in KNOWN_MISTAKES if mistake.values[3] not in hidden_only(*mistake.values[:2])]


@pytest.mark.parametrize("lesson, exercise, name, description, wrong", VISIBLY_CAUGHT)
def test_each_known_mistake_fails_the_visible_self_check_and_is_named(lesson, exercise, name, description, wrong):
    """What the student can run before handing in: the graded cell without its hidden tests, as released."""
    with pytest.raises(AssertionError, match=f"That is what you get if you {re.escape(description)}"):
        run_graded_cell(lesson, exercise, {name: wrong}, visible_only=True)


# The line a self-check shows where its hidden tests catch more than it does: "Only the hidden tests …", as a
# comment or as printed text.
ONLY_THE_HIDDEN_TESTS = re.compile(r"""^\s*(#|print\(\s*f?["'])\s*Only the hidden tests\b""", re.MULTILINE)


@pytest.mark.parametrize("lesson", MISTAKES)
def test_hidden_only_marks_name_catalogued_mistakes_the_self_check_lets_pass_and_it_says_so(lesson):
    """No stale marker: each HIDDEN_ONLY entry names a catalogued mistake of its exercise, with a reason in words,
    that really passes the visible self-check; and that self-check says what only the hidden tests cover."""
    module = MISTAKES[lesson]
    for exercise, marked in getattr(module, "HIDDEN_ONLY", {}).items():
        assert exercise in module.EXERCISES, f"HIDDEN_ONLY names {exercise!r}, which is not an exercise of {lesson}"
        catalogued = {
            description: (name, wrong)
            for name, catalogue in module.EXERCISES[exercise].items()
            for description, wrong in catalogue.items()
        }
        assert marked, f"HIDDEN_ONLY[{exercise!r}] is empty: leave the exercise out"
        for description, reason in marked.items():
            assert description in catalogued, f"HIDDEN_ONLY[{exercise!r}] names no catalogued mistake: {description!r}"
            assert isinstance(reason, str) and len(reason.split()) >= 4, f"give the reason in words: {description!r}"
            name, wrong = catalogued[description]
            try:
                run_graded_cell(lesson, exercise, {name: wrong}, visible_only=True)
            except AssertionError as failure:
                pytest.fail(
                    f"HIDDEN_ONLY[{exercise!r}] is stale: the visible self-check already catches {description!r} "
                    f"({failure})"
                )
        visible = graded_cell_source(lesson, exercise, visible_only=True)
        assert ONLY_THE_HIDDEN_TESTS.search(visible), (
            f"the self-check of {lesson}_{exercise} lets known mistakes pass (HIDDEN_ONLY) but has no line starting "
            "'Only the hidden tests' that says what they cover"
        )


class Unanswered:
    """Stands in for an unanswered class exercise: nbgrader's stub raises as soon as it is used."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError()


def unanswered(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("lesson, exercise, answers", EXERCISES, ids=exercise_id)
def test_an_unanswered_exercise_fails_its_graded_cell(lesson, exercise, answers):
    stubs = {name: Unanswered if name[0].isupper() else unanswered for name in answers}
    with pytest.raises(NotImplementedError):
        run_graded_cell(lesson, exercise, stubs)


HANDED_OVER = [
    pytest.param(lesson, exercise, name, wrong, id=f"{lesson[:2]}-{exercise}: hands it over")
    for lesson, module in MISTAKES.items()
    for exercise, answers in getattr(module, "HANDED_OVER", {}).items()
    for name, wrong in answers.items()
]


@pytest.mark.parametrize("lesson, exercise, name, wrong", HANDED_OVER)
def test_an_answer_calling_what_its_exercise_must_not_fails_naming_the_call(lesson, exercise, name, wrong):
    """The run-time block (checks' forbidden=): right values, but a call to one of MUST_NOT_CALL[exercise]."""
    names = "|".join(re.escape(called) for called in MISTAKES[lesson].MUST_NOT_CALL[exercise])
    with pytest.raises(AssertionError, match=f"your answer calls ({names}),"):
        run_graded_cell(lesson, exercise, {name: wrong})
