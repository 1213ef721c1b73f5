"""The one loop every check runs: record what an answer does, compare with the reference record by record,
and on the first difference say where it is and which known mistake it looks like."""

from . import evidence
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
    another_case=None,
    forbidden=(),
):
    """Compare the records ``run(student, None)`` and ``run(reference, None)`` one by one.

    ``run(answer, count)`` runs an answer (the student's, the reference or a wrong one from `mistakes`) and
    returns its first `count` records (all of them for None): dicts whose keys name what they hold
    (``{"your parameter": …, "your buffer": …}``). A check of a single call is a trajectory of one record.
    The student's answer runs first, so inputs it changes are what the reference then sees, as in the
    student's notebook. While the student's answer runs, the dotted names in `forbidden` (the ready-made
    versions of the exercise, see forbidden.py) fail when called. In a grading kernel both runs' records go to
    the grader as evidence (evidence.py), the student's read before the reference runs.

    On the first record that differs this fails with ``"{what}: {when(index)}{difference}{note(index)}"``,
    followed by the first of `mistakes` that reproduces the student's answer on every case the check has:
    its records up to that one equal the student's, and, where the check can make a second, independent input
    (``another_case(answer, count)``: an answer's first `count` records on it, count being the number compared
    on the first), its records there equal the student's too. `why_none` and `given_by` word the difference
    (see `first_difference`).
    """
    with forbidding(forbidden):
        actual = run(student, None)
    actual_evidence = evidence.encode(actual) if evidence.recording() else None
    expected = run(reference, None)
    evidence.record(what, actual_evidence, expected, rtol, atol, compare=evidence.RECORDS)
    found = trajectory_difference(actual, expected, rtol, atol, why_none=why_none, given_by=given_by)
    if found is None:
        return
    index, difference = found
    message = f"{what}: {when(index)}{difference}{note(index)}"
    count = index + 1
    cases = [(run, actual[:count])]
    if mistakes and another_case is not None:
        try:
            with forbidding(forbidden):
                cases.append((another_case, another_case(student, count)))
        except Exception:  # noqa: BLE001 (an answer that fails on the second input reproduces no mistake there)
            raise AssertionError(message) from None

    def reproduces(wrong):
        return all(_same_records(records, case(wrong, count), rtol, atol) for case, records in cases)

    raise AssertionError(message + mistake_hint(mistakes, reproduces))


def _same_records(actual, records, rtol, atol):
    """Whether `records` are as many as `actual` and each equals the matching one within tolerance."""
    return len(records) == len(actual) and all(
        record_difference(got, want, rtol, atol) is None for got, want in zip(actual, records)
    )


def trajectory_difference(actual, expected, rtol, atol, **wording):
    """(index, sentence) of the first record of `actual` that differs from `expected`'s, or None if none does.

    Records are compared pairwise, as many as both have.
    """
    for index, (got, want) in enumerate(zip(actual, expected)):
        difference = record_difference(got, want, rtol, atol, **wording)
        if difference:
            return index, difference
    return None


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
