"""Each lesson's own graded cells (self-check and hidden tests) pass on the solution, reject every known
mistake of autograder/mistakes/ with a message naming it, and fail on an unanswered stub.

This is the one place the catalogues are run; tests/test_checks.py tests the checks themselves."""

import importlib
import re

import pytest

from course.lessons import LESSONS
from notebook_runner import run_graded_cell

MISTAKES = {lesson.name: importlib.import_module(f"autograder.mistakes.{lesson.mistakes}") for lesson in LESSONS}
EXERCISES = [
    (lesson, exercise, answers) for lesson, module in MISTAKES.items() for exercise, answers in module.EXERCISES.items()
]
# A lesson module's tables that are not catalogues of wrong answers fed to EXERCISES.
NOT_CATALOGUES = ("EXERCISES", "MUST_NOT_CALL", "HANDED_OVER")
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
