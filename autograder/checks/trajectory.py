"""The one loop every check runs: record what an answer does, compare with the reference record by record,
and on the first difference say where it is and which known mistake it looks like."""

from .compare import RETURN_HINT, first_difference, mistake_hint
from .forbidden import forbidding


def check_trajectory(
    run,
    student,
    reference,
    *,
    what,
    when=lambda index: "",
    mistakes=None,
    rtol=1e-6,
    atol=1e-10,
    note=lambda index: "",
    why_none=RETURN_HINT,
    given_by="",
    forbidden=(),
):
    """Compare the records ``run(student, None)`` and ``run(reference, None)`` one by one.

    ``run(answer, count)`` runs an answer (the student's, the reference or a wrong one from `mistakes`) and
    returns its first `count` records (all of them for None): dicts whose keys name what they hold
    (``{"your parameter": …, "your buffer": …}``). A check of a single call is a trajectory of one record.
    The student's answer runs first, so inputs it changes are what the reference then sees, as in the
    student's notebook. While the student's answer runs, the dotted names in `forbidden` (the ready-made
    versions of the exercise, see forbidden.py) fail when called.

    On the first record that differs this fails with ``"{what}: {when(index)}{difference}{note(index)}"``,
    followed by the first of `mistakes` whose records up to that one equal the student's. `why_none` and
    `given_by` word the difference (see `first_difference`).
    """
    with forbidding(forbidden):
        actual = run(student, None)
    expected = run(reference, None)
    differences = (
        record_difference(got, want, rtol, atol, why_none=why_none, given_by=given_by)
        for got, want in zip(actual, expected)
    )
    index, difference = next(((index, found) for index, found in enumerate(differences) if found), (0, None))
    if difference is None:
        return

    def reproduces(wrong):
        records = run(wrong, index + 1)
        return len(records) == index + 1 and all(
            record_difference(got, want, rtol, atol) is None for got, want in zip(actual, records)
        )

    raise AssertionError(f"{what}: {when(index)}{difference}{note(index)}" + mistake_hint(mistakes, reproduces))


def record_difference(actual, expected, rtol, atol, **wording):
    """A sentence saying where record `actual` first differs from record `expected`, or None if they agree.

    Entries are compared in `expected`'s order, each named by its key; `wording` goes to `first_difference`.
    """
    for name, want in expected.items():
        if name not in actual:
            return f"{name} is missing."
        difference = first_difference(actual[name], want, rtol, atol, name=name, **wording)
        if difference:
            return difference
    return None
