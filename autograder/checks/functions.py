"""Checks of plain functions: one call, its result compared with the reference's."""

from .compare import named_values
from .trajectory import check_trajectory


def check_function(
    student,
    reference,
    *,
    args=(),
    kwargs=None,
    names=None,
    mistakes=None,
    rtol=1e-6,
    atol=1e-10,
    what=None,
    forbidden=(),
):
    """Compare ``student(*args, **kwargs)`` with `reference` called the same way (the same objects).

    Results may be numbers, arrays, tensors, tuples, lists, dicts of them or None (see `first_difference`);
    the message names the entry that differs (``'suggested_lr'``, ``the result[1, 0]``). A function returning a
    fixed tuple of values is given their `names` (``("dx", "dgamma", "dbeta")``), by which the message names them.
    `mistakes`: wrong functions with the student's signature. `forbidden`: dotted names of functions the
    student's answer must not call (see forbidden.py).
    """
    check_function_on_fresh_inputs(
        student,
        reference,
        make_args=lambda: (args, kwargs or {}),
        names=names,
        mistakes=mistakes,
        rtol=rtol,
        atol=atol,
        what=what or getattr(student, "__name__", "your function"),
        forbidden=forbidden,
    )


def check_function_on_fresh_inputs(
    student, reference, *, make_args, names=None, mistakes=None, rtol=1e-6, atol=1e-10, what=None, forbidden=()
):
    """`check_function` for functions that change their inputs (e.g. train a model one step).

    Every call, the student's, the reference's and each known mistake's, gets fresh, identical inputs
    ``args, kwargs = make_args()``. `names`: as in `check_function`.
    """
    what = what or getattr(student, "__name__", "your function")

    def result(function, _count):
        args, kwargs = make_args()
        return [named_values(function(*args, **kwargs), names, what, returned="the result")]

    check_trajectory(
        result,
        student,
        reference,
        what=what,
        mistakes=mistakes,
        rtol=rtol,
        atol=atol,
        forbidden=forbidden,
    )


def first_output(function):
    """`function` returning only the first element of its result, e.g. ``out`` of a forward pass's ``(out, cache)``.

    Lets `check_function` compare outputs while the caches, whose contents are up to the student, differ.
    """

    def first(*args, **kwargs):
        result = function(*args, **kwargs)
        if not (isinstance(result, tuple) and len(result) >= 1):
            raise AssertionError(
                f"{getattr(function, '__name__', 'the function')} must return a tuple (out, cache), "
                f"got {type(result).__name__}."
            )
        return result[0]

    first.__name__ = getattr(function, "__name__", "the function")
    return first
