"""What every interactive view must do: show its controls' values, redraw on every move, offer sensible ranges."""

import ipywidgets
import pytest

from course.views import VIEWS, view_moves
from widget_views import built_view


def all_controls(view):
    """{name: control} of every control the view can show (every schedule's, for the schedule explorer)."""
    if hasattr(view, "schedules"):
        return {
            f"{schedule}: {name}": control
            for schedule, (sliders, options, _) in view.schedules.items()
            for name, control in {**sliders, **options}.items()
        }
    return {**view.controls, **getattr(view, "options", {})}


@pytest.mark.parametrize("name", VIEWS)
def test_the_picture_is_the_one_of_the_controls_shown(name):
    """What a view shows, from the moment it is built, depends only on its controls' values: a move and its undo
    give back the same picture and readout (no hidden starting state, no stale cache, nothing drawn twice)."""
    view = built_view(name)
    for description, control, value in view_moves(view, 3):
        if value != control.value:
            before, original = (bytes(view.image.value), view.readout.value), control.value
            control.value = value
            control.value = original
            assert (bytes(view.image.value), view.readout.value) == before, f"moving {description} and back"


@pytest.mark.parametrize("name", VIEWS)
def test_every_move_redraws_the_picture_and_the_readout(name):
    view = built_view(name)
    for description, control, value in view_moves(view, 3):
        if value == control.value:
            continue
        before = view.image.value, view.readout.value
        control.value = value
        assert bytes(view.image.value) != bytes(before[0]), f"{description} did not redraw the picture"
        assert view.readout.value != before[1], f"{description} did not change the readout"


@pytest.mark.parametrize("name", VIEWS)
def test_learning_rates_move_on_a_log_scale_and_defaults_sit_inside_their_ranges(name):
    for label, control in all_controls(built_view(name)).items():
        if "lr" in label.split(": ")[-1].split("_") or "learning rate" in control.description:
            assert isinstance(control, ipywidgets.FloatLogSlider), f"{label} is a learning rate on a linear slider"
        if isinstance(control, ipywidgets.FloatLogSlider):
            low, high = control.base**control.min, control.base**control.max
            assert high / low >= 10 and (control.max - control.min) / control.step >= 20, f"{label}: range or step"
        elif hasattr(control, "min"):
            low, high = control.min, control.max
            assert high > low, f"{label}: nothing to move"
        else:
            continue
        assert low <= control.value <= high, f"{label}: default {control.value} outside [{low}, {high}]"
