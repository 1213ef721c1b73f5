"""The two questions every check asks: where does an answer first differ from the expected one, and which
known mistake gives exactly what the answer gave."""

import numpy as np
import torch

from . import evidence

RETURN_HINT = "did you forget to return it?"
# What the checks call a function's whole result: the entries of a dict result are named by their keys alone.
WHOLE_RESULT = ("the result", "the value returned")


def describe(value) -> str:
    """A short, readable rendering of a number or array for a failure message."""
    array = as_float_array(value)  # also tensors that require grad
    if array.ndim == 0:  # "1", not NumPy's "1." (which reads as a sentence's end)
        return f"{float(array):.6g}"
    if array.size <= 6:
        return np.array2string(array, precision=5, separator=", ")
    return f"an array of shape {array.shape} starting {np.array2string(array.ravel()[:3], precision=5, separator=', ')}"


def is_close(actual, expected, rtol=1e-6, atol=1e-10) -> bool:
    """Same shape and equal within ``rtol·|expected| + atol``, NaN equal to NaN only where both are NaN."""
    actual, expected = as_float_array(actual), as_float_array(expected)
    return actual.shape == expected.shape and np.allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)


def first_difference(actual, expected, rtol=1e-6, atol=1e-10, *, name="the result", why_none=RETURN_HINT, given_by=""):
    """A sentence saying where `actual` first differs from `expected`, or None if they agree.

    `expected` decides how they are compared:
    - a dict: `actual` must be a dict with every key of `expected` (extra keys are ignored), compared entry by
      entry, each entry named by its key after the dict's name (``cache['x_hat']``, ``'activations'['0']['std']``),
      or by its key alone in a whole result (`name` one of WHOLE_RESULT: ``'suggested_lr'``);
    - a tuple (a fixed group of results): `actual` must be a tuple of the same length, compared item by item;
    - a list (a sequence of like values): `actual` must be a list, tuple or array of the same length;
    - None: `actual` must be None too (a gradient autograd does not reach, say);
    - anything else (numbers, arrays, tensors): compared as float arrays of the same shape, within
      ``rtol·|expected| + atol``, NaN equal to NaN only where both are NaN. Where the description of the two
      (`describe`) does not show the difference, because it is below the printed precision or in an entry
      not shown, the first entry that differs follows, with its index and as many digits as tell them apart.
    An `actual` of None where a value is expected is reported as ``name is None: why_none``, or with the
    expected value when `why_none` is empty. `given_by` names where the expected values come from
    ("torch" gives "…, expected 0.5 as torch gives.").
    """

    def differs(got, want, where):
        return first_difference(got, want, rtol, atol, name=where, why_none=why_none, given_by=given_by)

    if expected is None:
        return None if actual is None else f"{name} should be None, got {describe(actual)}."
    if actual is None:
        return f"{name} is None: {why_none}" if why_none else f"{name} is None, expected {describe(expected)}."
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{name} should be a dict with keys {sorted(expected, key=str)}, got {type(actual).__name__}."
        for key, want in expected.items():
            if key not in actual:
                return f"{name} has no entry {key!r} (expected the keys {sorted(expected, key=str)})."
            difference = differs(actual[key], want, repr(key) if name in WHOLE_RESULT else f"{name}[{key!r}]")
            if difference:
                return difference
        return None
    if isinstance(expected, tuple):
        if not (isinstance(actual, tuple) and len(actual) == len(expected)):
            return f"{name} should be a tuple of {len(expected)} values, got {actual!r}."
        return _first_item_difference(actual, expected, differs, name)
    if isinstance(expected, list):
        if not (isinstance(actual, (list, tuple)) or isinstance(actual, (np.ndarray, torch.Tensor)) and actual.ndim):
            return f"{name} should be a list of {len(expected)} values, got {type(actual).__name__}."
        if len(actual) != len(expected):
            return f"{name} has {len(actual)} values, expected {len(expected)}."
        return _first_item_difference(actual, expected, differs, name)
    got, want = as_float_array(actual), as_float_array(expected)
    if got.shape != want.shape:
        return f"{name} has shape {got.shape}, expected {want.shape}."
    if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
        message = f"{name} is {describe(got)}, expected {describe(want)}{f' as {given_by} gives' if given_by else ''}."
        return message + _first_unequal_entry(got, want, rtol, atol, name)
    return None


def _first_unequal_entry(got, want, rtol, atol, name):
    """The first entry outside the tolerance, to as many digits as show it, when `describe` does not show it.

    That is when it lies beyond the entries described, or looks the same at their precision.
    """
    flat_index = int(np.argmax(~np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True).ravel()))
    shown_got, shown_want = _described_entries(got), _described_entries(want)
    if flat_index < len(shown_got) and shown_got[flat_index] != shown_want[flat_index]:
        return ""
    got_digits, want_digits = _distinct_digits(got.ravel()[flat_index], want.ravel()[flat_index])
    if got.ndim == 0:
        return f" To more digits: {got_digits}, expected {want_digits}."
    index = ", ".join(str(int(i)) for i in np.unravel_index(flat_index, got.shape))
    return f" The first entry that differs is {name}[{index}]: {got_digits}, expected {want_digits}."


def _described_entries(array):
    """The entries `describe` shows (all of a small array, the first 3 of a large one), each as it writes it."""
    flat = array.ravel() if array.size <= 6 else array.ravel()[:3]
    text = np.array2string(flat, precision=5, separator=",", max_line_width=10**9)
    return [entry.strip() for entry in text.strip("[]").split(",")]


def _distinct_digits(got, want):
    """`got` and `want` written with the fewest significant digits (at least 6) that tell them apart."""
    for digits in range(6, 18):
        got_text, want_text = f"{got:.{digits}g}", f"{want:.{digits}g}"
        if got_text != want_text:
            return got_text, want_text
    return repr(float(got)), repr(float(want))


def _first_item_difference(actual, expected, differs, name):
    for index, (got, want) in enumerate(zip(actual, expected)):
        difference = differs(got, want, f"{name}[{index}]")
        if difference:
            return difference
    return None


def named_values(result, names, what, returned="the value returned"):
    """{name: value} for a function's result: with `names`, the values of the tuple it returns, each under its name
    (``{"dx": …, "dgamma": …}``), so that a message says "dgamma is …" and never "the result[1] is …"; without,
    ``{returned: result}``. A result that is not a tuple of len(names) values fails, saying what is expected."""
    if names is None:
        return {returned: result}
    if not (isinstance(result, tuple) and len(result) == len(names)):
        got = f"a tuple of {len(result)} values" if isinstance(result, tuple) else type(result).__name__
        raise AssertionError(f"{what} must return a tuple of {len(names)} values ({', '.join(names)}), got {got}.")
    return dict(zip(names, result))


def assert_close(actual, expected, what, rtol=1e-6, atol=1e-10, hint=""):
    """Fail unless `actual` equals `expected` as arrays, within tolerance; `what` names the quantity.

    `hint` follows the difference in the message: a sentence, or a function giving one, called only on failure
    (when it runs known mistakes, say). In a grading kernel the comparison goes to the grader as evidence
    (evidence.py).
    """
    expected = as_float_array(expected)
    evidence.record(what, evidence.encode(actual), expected, rtol, atol)
    difference = first_difference(actual, expected, rtol, atol, name=what)
    if difference:
        raise AssertionError(difference + (hint() if callable(hint) else hint))


def mistake_hint(mistakes, reproduces):
    """ " That is what you get if you <mistake>." for the first known mistake that reproduces the answer, else "".

    `mistakes` maps a description to a wrong answer (see the package's docstring); `reproduces(wrong)` says
    whether it gives what the student's answer gave. A wrong answer that cannot even run on these inputs
    does not match.
    """
    for description, wrong in (mistakes or {}).items():
        try:
            if reproduces(wrong):
                return f" That is what you get if you {description}."
        except Exception:  # noqa: BLE001 (any failure of a wrong answer means "not this mistake")
            continue
    return ""


def as_float_array(value):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


def snapshot(value):
    """A float array copy of `value` that later in-place changes do not reach, or None for None."""
    return None if value is None else as_float_array(value).copy()


def format_hyper(hyper):
    return ", ".join(f"{name}={value!r}" for name, value in hyper.items())
