"""What the checks compared, written down in a grading kernel for the grader to judge again outside it.

A test cell's verdict in the kernel comes from the student's own process, which the student's code can bend
(README: the threat model). So in a grading kernel every comparison a check makes (`check_trajectory`,
`check_statistics`, `assert_close`) also appends one line to the evidence file: the cell that ran it (a digest
of its source, kernel_guard.cell_digest), the values the answer gave (`actual`), those expected (`expected`),
the tolerances and how they are compared. Once the kernel is dead, the grader holds the student's `actual`
values to the `expected` values, tolerances and comparison of the same check in the reference run, the
solution notebook graded alone (autograder/grading/judge.py). A wrong answer then scores nothing whatever its
process claims, unless it wrote the right values: to do that, it has to compute them.

Values are written as plain numbers (nested dicts, tuples and lists of float arrays, and None), turned into
numbers at once, before the reference's run, so the student's objects are read only while nothing expected
exists yet. Only a grading kernel writes evidence: its sandbox names the file (autograder/grading/sandbox.py).
"""

import json
import math
import os

import numpy as np

from autograder.grading import kernel_guard
from autograder.grading.sandbox import EVIDENCE_VARIABLE

from . import compare  # which imports this module: its functions are looked up when called

# How a line's `actual` and `expected` are compared: by `first_difference` (one value) or record by record
# (`record_difference` on each pair, as check_trajectory compares trajectories).
VALUE, RECORDS = "value", "records"


def recording():
    """Whether this is a grading kernel, whose sandbox names the evidence file in EVIDENCE_VARIABLE."""
    return bool(os.environ.get(EVIDENCE_VARIABLE))


def encode(value):
    """`value` as JSON-ready plain data: dicts (as [key, value] pairs), tuples, lists, None, float arrays."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {"dict": [[key if type(key) in (str, int) else repr(key), encode(item)] for key, item in value.items()]}
    if isinstance(value, (tuple, list)):
        return {"tuple" if isinstance(value, tuple) else "list": [encode(item) for item in value]}
    try:
        array = compare.as_float_array(value)
    except Exception:  # noqa: BLE001 (anything that is not numbers is reported as such, never raised here)
        return {"unreadable": type(value).__name__}
    return {"shape": list(array.shape), "values": [_number(number) for number in array.ravel().tolist()]}


def decode(data):
    """The values `encode` wrote, back: dicts, tuples, lists, None and float arrays; a value that was not numbers
    comes back as the name of its type (a str, which no comparison takes for numbers). Raises ValueError on
    anything `encode` does not write."""
    if data is None:
        return None
    if isinstance(data, dict) and len(data) == 1:
        ((kind, content),) = data.items()
        if kind == "dict" and isinstance(content, list):
            return {_key(pair): decode(pair[1]) for pair in content}
        if kind in ("tuple", "list") and isinstance(content, list):
            items = [decode(item) for item in content]
            return tuple(items) if kind == "tuple" else items
        if kind == "unreadable" and isinstance(content, str):
            return content
    if isinstance(data, dict) and set(data) == {"shape", "values"}:
        shape, values = data["shape"], data["values"]
        if isinstance(shape, list) and all(type(size) is int and size >= 0 for size in shape):
            if isinstance(values, list) and all(type(value) in (int, float, str) for value in values):
                return np.array([float(value) for value in values], dtype=float).reshape(shape)
    raise ValueError("not a value as encode writes it")


def _key(pair):
    if not (isinstance(pair, list) and len(pair) == 2 and type(pair[0]) in (str, int)):
        raise ValueError("not a [key, value] pair")
    return pair[0]


def _number(number):
    """A float JSON keeps: NaN and the infinities as strings."""
    return number if math.isfinite(number) else repr(number)


def record(what, actual, expected, rtol, atol, compare=VALUE):
    """Append one comparison to the evidence file, in a grading kernel; do nothing elsewhere.

    `actual` comes encoded (`encode`), read from the answer before the reference ran; `expected` as it is.
    """
    if not recording():
        return
    line = {
        "cell": kernel_guard.running_cell,
        "what": str(what),
        "compare": compare,
        "rtol": float(rtol),
        "atol": float(atol),
        "actual": actual,
        "expected": encode(expected),
    }
    with open(os.environ[EVIDENCE_VARIABLE], "a") as evidence:
        evidence.write(json.dumps(line) + "\n")
