"""The JupyterLab a student gets from `make lab`: nbgrader's Validate button, and no tools that cannot work there."""

import re

import pytest

from notebook_page import NotebookPage

pytestmark = pytest.mark.browser


def validate(page):
    """Press Validate in the notebook's toolbar; return the text of the results dialog and close it."""
    page.get_by_role("button", name="Validate").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=180_000)  # nbgrader runs the whole notebook on the server
    text = dialog.inner_text()
    dialog.locator("button").last.click()
    return text


def test_run_all_on_an_unanswered_lesson_stops_at_the_first_exercise(lab, page):
    notebook = NotebookPage(page, lab, "unanswered/01_momentum/01_momentum.ipynb")
    notebook.open()
    (traceback,) = notebook.run_all()
    assert "NotImplementedError" in traceback and "gd_step" in traceback
    assert "" in notebook.prompts()  # the cells after it have not run


def test_validate_names_the_first_failing_exercise_of_an_unanswered_lesson(lab, page):
    notebook = NotebookPage(page, lab, "unanswered/01_momentum/01_momentum.ipynb")
    notebook.open()
    text = validate(page)
    assert "The following cell failed" in text
    assert re.search(r"checks\.check_rule\(\s*gd_step", text)  # the self-check of the first exercise
    assert "NotImplementedError" in text


def test_validate_passes_an_answered_lesson(lab, page):
    notebook = NotebookPage(page, lab, "answered/01_momentum/01_momentum.ipynb")
    notebook.open()
    assert "Success! Your notebook passes all the tests." in validate(page)


def test_student_lab_shows_no_exchange_or_instructor_tools(lab, page):
    """Self-paced students have no nbgrader exchange: its Assignment List only shows errors, and the
    instructor's Formgrader and Create Assignment are not theirs (autograder/labconfig/page_config.json)."""
    notebook = NotebookPage(page, lab, "answered/00_landscape/00_landscape.ipynb")
    notebook.open()
    menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "Run" in menus and "Nbgrader" not in menus
    assert page.get_by_role("button", name="Validate").is_visible()
    page.keyboard.press("Control+Shift+C")  # the command palette lists every command that is registered
    page.locator(".lm-CommandPalette-input").fill("assignment")
    commands = page.locator(".lm-CommandPalette-itemLabel").all_inner_texts()
    assert not [command for command in commands if re.search("Assignment List|Formgrader|Course List", command)]
