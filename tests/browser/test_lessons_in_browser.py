"""Each lesson as a student meets it: JupyterLab in Chromium, Run All Cells, then every control of every view moved.

The notebooks are the released lessons with every exercise answered (a student who did the work), run in
fast mode. Screenshots of each view land in test-artifacts/browser/ for a human to look at.
"""

import nbformat
import pytest

from lab_server import ARTIFACTS, LESSONS, ROOT
from notebook_page import NotebookPage

pytestmark = pytest.mark.browser


def views_in_source(lesson):
    """How many interactive views the lesson displays: code cells that end by showing `<name>.widget`."""
    notebook = nbformat.read(ROOT / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
    return sum(
        cell.cell_type == "code" and cell.source.strip().splitlines()[-1].endswith(".widget")
        for cell in notebook.cells
        if cell.source.strip()
    )


def error_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    return [
        f"cell {index}: {output.ename}: {output.evalue}"
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]


def move_every_control(view, name):
    """Move each control of `view` as a student would and check the picture and the printed values follow.

    Per slider: three arrow-key steps and a drag must each change the picture, and after a drag the picture
    must be the one of the value the slider shows (no stale frame). The readout prints rounded results that a
    small move need not change (ε in lesson 02 barely matters until it nears √v), so it must change by the
    end of the range (End or Home). Typing the starting value back into the slider's box must then bring
    back the starting picture and readout exactly.
    """
    state = view.state()
    for index, slider in enumerate(view.sliders()):
        label = f"{name}, slider {index} ({slider.locator('.widget-label').inner_text()})"
        track = slider.locator(".noUi-base").bounding_box()["width"]
        assert track >= 150, f"{label}: the track is {track:.0f} px wide, too short to drag with any precision"
        untouched, typed_start = state, view.slider_value(slider)
        far_end = "End" if view.room_to_the_right(slider) else "Home"  # the end of the range away from the start
        key = "ArrowRight" if view.room_to_the_right(slider) else "ArrowLeft"
        state = view.after(lambda: view.press(slider, key, times=3), state)

        value_before = view.slider_value(slider)
        dragged = view.after(lambda: view.drag(slider, 0.3 if view.room_to_the_right(slider) else -0.3), state)
        assert view.slider_value(slider) != value_before, f"{label}: dragging did not move the slider"
        there, back = ("ArrowRight", "ArrowLeft") if view.room_to_the_right(slider) else ("ArrowLeft", "ArrowRight")
        away = view.after(lambda: view.press(slider, there), dragged)
        state = view.after(lambda: view.press(slider, back), away)
        assert state == dragged, f"{label}: after a drag the view showed a picture of another slider value"

        state = view.after(lambda: view.press(slider, far_end), state)
        assert state[1] != untouched[1], f"{label}: the printed values do not change across the slider's range"
        if view.typable(slider):
            state = view.after(lambda: view.type_value(slider, typed_start), state)
            assert state == untouched, f"{label}: typing the first value {typed_start} back did not restore the view"

    for index, group in enumerate(view.toggle_groups()):
        for button in group.locator("button:not(.mod-active)").all():
            moved = view.after(button.click, state)
            assert moved[1] != state[1], f"{name}, toggle group {index}: the readout did not change"
            state = moved
    for dropdown in view.dropdowns():
        current = dropdown.input_value()
        for option in dropdown.locator("option").all():
            if option.get_attribute("value") != current:
                state = view.after(lambda: dropdown.select_option(option.get_attribute("value")), state)
    for checkbox in view.checkboxes():
        state = view.after(checkbox.click, state)


@pytest.mark.parametrize("lesson", LESSONS)
def test_answered_lesson_runs_clean_and_its_views_respond(lab, course, page, lesson):
    notebook = NotebookPage(page, lab, f"answered/{lesson}/{lesson}.ipynb")
    notebook.open()
    assert notebook.run_all() == []
    assert all(prompt.isdigit() for prompt in notebook.prompts())

    views = notebook.views()
    assert len(views) == views_in_source(lesson)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for index, view in enumerate(views):
        view.box.screenshot(path=ARTIFACTS / f"{lesson}-view{index}-initial.png")
        move_every_control(view, f"{lesson} view {index}")
        view.box.screenshot(path=ARTIFACTS / f"{lesson}-view{index}-moved.png")

    notebook.save()
    assert error_outputs(course / "answered" / lesson / f"{lesson}.ipynb") == []
