"""Every interactive view (course.views.VIEWS), built once per test process and shared by the tests."""
import functools

from course.views import VIEWS, view_moves


@functools.cache
def built_view(name):
    """The view `name` of VIEWS as a notebook shows it (reference code, MNIST-1D). A test that moves its
    controls puts them back, as `every_move` does."""
    return VIEWS[name]()


def every_move(view, positions=3):
    """Make each move of `view_moves(view, positions)` in turn, yielding its description after each."""
    for description, control, value in view_moves(view, positions):
        control.value = value
        yield description
