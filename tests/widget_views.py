"""Every interactive view (course.views.VIEWS), built once per test process and shared by the tests."""

import functools
import os
from unittest import mock

from course.views import VIEWS, view_moves


@functools.cache
def built_view(name):
    """The view `name` of VIEWS as a notebook shows it in fast mode (reference code, MNIST-1D, the experiments
    at their `COURSE_FAST` size). A test that moves its controls puts them back, as `every_move` does."""
    with mock.patch.dict(os.environ, {"COURSE_FAST": "1"}):
        return VIEWS[name]()


def every_move(view, positions=3):
    """Make each move of `view_moves(view, positions)` in turn, yielding its description after each."""
    for description, control, value in view_moves(view, positions):
        control.value = value
        yield description
