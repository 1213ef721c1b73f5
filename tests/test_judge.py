"""The grader's own verdict: evidence written by the checks in a grading kernel, read back and judged outside it.

autograder/checks/evidence.py writes what each check compared; autograder/grading/judge.py holds the student's
values to the reference run's. End to end (a batch graded in the sandbox): tests/test_grading_hostile.py.
"""

import json

import numpy as np
import pytest
import torch
from nbformat.v4 import new_code_cell, new_notebook

from autograder import checks
from autograder.checks import evidence
from autograder.grading import judge, kernel_guard
from autograder.grading.sandbox import EVIDENCE_VARIABLE


@pytest.fixture
def evidence_file(tmp_path, monkeypatch):
    """A grading kernel's evidence file, its cell running the source "test cell"; yields a reader of its lines."""
    path = tmp_path / "evidence"
    monkeypatch.setenv(EVIDENCE_VARIABLE, str(path))
    monkeypatch.setattr(kernel_guard, "running_cell", kernel_guard.cell_digest("test cell"))
    return lambda: judge.parse_evidence(path.read_bytes() if path.exists() else b"")


def comparison(actual, expected, compare=evidence.VALUE, rtol=1e-6, atol=1e-10, what="f(x)"):
    """A Comparison as read from an evidence file: `actual` and `expected` encoded as `record` writes them."""
    line = {
        "cell": "c",
        "what": what,
        "compare": compare,
        "rtol": rtol,
        "atol": atol,
        "actual": evidence.encode(actual),
        "expected": evidence.encode(expected),
    }
    return judge.parse_evidence(json.dumps(line).encode())[0]


def test_values_come_back_as_written_dicts_tuples_lists_none_and_float_arrays():
    value = {
        "weights": (torch.tensor([[1.0, 2.0]]), [np.float32(3.5), None]),
        0: float("nan"),
        "far": np.array([np.inf, -np.inf]),
    }
    back = evidence.decode(json.loads(json.dumps(evidence.encode(value))))
    assert list(back) == ["weights", 0, "far"]
    assert isinstance(back["weights"], tuple) and isinstance(back["weights"][1], list)
    np.testing.assert_array_equal(back["weights"][0], [[1.0, 2.0]])
    assert back["weights"][1][0] == 3.5 and back["weights"][1][1] is None
    assert np.isnan(back[0]) and list(back["far"]) == [np.inf, -np.inf]


def test_what_is_not_numbers_comes_back_as_its_type_name():
    class Anything:
        def __array_function__(self, *args):
            return True

    assert evidence.decode(evidence.encode(Anything())) == "Anything"


@pytest.mark.parametrize(
    "data",
    [
        {"shape": [2], "values": [1.0]},  # too few values for the shape
        {"shape": [-1], "values": []},
        {"shape": [1], "values": [[1.0]]},
        {"dict": [["a"]]},
        {"dict": [[["a"], None]]},
        {"tuple": "ab"},
        {"values": [1.0]},
        ["a list"],
        "text",
    ],
)
def test_anything_else_is_refused(data):
    with pytest.raises(ValueError):
        evidence.decode(data)


def test_nothing_is_written_outside_a_grading_kernel(tmp_path, monkeypatch):
    monkeypatch.delenv(EVIDENCE_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    checks.assert_close(1.0, 1.0, "one")
    assert list(tmp_path.iterdir()) == []


def test_a_passing_and_a_failing_check_both_leave_their_comparison(evidence_file):
    checks.assert_close(np.array([1.0, 2.0]), [1.0, 2.0], "the pair")
    with pytest.raises(AssertionError):
        checks.assert_close(0.0, -1.0, "cube(-1)", atol=1e-3)
    first, second = evidence_file()
    assert (first.cell, first.what, first.compare) == (kernel_guard.cell_digest("test cell"), "the pair", "value")
    assert (second.what, second.rtol, second.atol) == ("cube(-1)", 1e-6, 1e-3)
    assert evidence.decode(second.actual) == 0.0 and evidence.decode(second.expected) == -1.0


def test_a_statistic_is_written_with_its_tolerance_as_atol(evidence_file):
    checks.check_statistics(
        lambda generator: torch.rand(10_000, generator=generator),
        make_args=lambda: ((torch.Generator().manual_seed(0),), {}),
        statistics={"the mean": (lambda output: output.mean(), 0.5, 0.02)},
        what="uniform",
    )
    (line,) = evidence_file()
    assert (line.what, line.rtol, line.atol, evidence.decode(line.expected)) == ("uniform: the mean", 0.0, 0.02, 0.5)
    assert abs(evidence.decode(line.actual) - 0.5) < 0.02


def test_a_trajectory_is_read_from_the_answer_before_the_reference_runs(evidence_file):
    """An answer whose result the reference's run then overwrites (in the kernel the two then agree) is recorded as
    it returned it."""
    shared = np.zeros(2)

    def run(answer, _count):
        return [{"the parameter": answer()}]

    def reference():
        shared[:] = [1.0, 2.0]
        return shared

    checks.check_trajectory(run, lambda: shared, reference, what="the rule")
    (line,) = evidence_file()
    assert line.compare == evidence.RECORDS
    np.testing.assert_array_equal(evidence.decode(line.actual)[0]["the parameter"], [0.0, 0.0])
    np.testing.assert_array_equal(evidence.decode(line.expected)[0]["the parameter"], [1.0, 2.0])


def test_values_within_the_references_tolerance_agree():
    reference = {"cell": [comparison(0.0, 1.0, atol=1e-3)]}
    assert judge.verdicts(reference, {"cell": [comparison(1.0005, 9.0)]}) == {}
    assert judge.verdicts(reference, {"cell": [comparison(1.01, 1.01)]}) == {"cell": "f(x) is 1.01, expected 1."}


def test_records_are_compared_pairwise_by_their_names():
    reference = {"cell": [comparison(None, [{"p": [1.0, 2.0]}, {"p": [3.0]}], compare=evidence.RECORDS)]}
    same = comparison([{"p": [1.0, 2.0]}, {"p": [3.0]}], None, compare=evidence.RECORDS)
    wrong = comparison([{"p": [1.0, 2.0]}, {"p": [4.0]}], None, compare=evidence.RECORDS)
    unnamed = comparison([{"q": [1.0, 2.0]}], None, compare=evidence.RECORDS)
    assert judge.verdicts(reference, {"cell": [same]}) == {}
    assert judge.verdicts(reference, {"cell": [wrong]}) == {"cell": "f(x): p[0] is 4, expected 3."}
    assert judge.verdicts(reference, {"cell": [unnamed]}) == {"cell": "f(x): p is missing."}


def test_a_missing_or_extra_comparison_fails_the_cell():
    reference = {"cell": [comparison(0.0, 1.0), comparison(0.0, 2.0)]}
    found = judge.verdicts(reference, {"cell": [comparison(1.0, 1.0)]})
    assert found == {"cell": "its tests made 1 of the 2 comparisons of the grader's reference run"}
    assert (
        "3 of the 2" in judge.verdicts(reference, {"cell": [comparison(1.0, 1.0), *reference["cell"][:1] * 2]})["cell"]
    )
    assert "0 of the 2" in judge.verdicts(reference, {})["cell"]


def test_a_cell_the_reference_run_compared_nothing_in_is_left_to_nbgrader():
    assert judge.verdicts({"cell": []}, {"cell": [comparison(5.0, 5.0)]}) == {}


def test_an_answer_that_gave_no_numbers_fails():
    reference = {"cell": [comparison(0.0, np.array([1.0]))]}
    assert judge.verdicts(reference, {"cell": [comparison(object(), 1.0)]}) == {
        "cell": "f(x): your answer gave something that is not numbers"
    }


@pytest.mark.parametrize(
    "data",
    [
        b"not json\n",
        b'{"cell": "c"}\n',
        json.dumps({**json.loads(json.dumps(vars(comparison(1.0, 1.0)))), "compare": "trust me"}).encode(),
        json.dumps({**json.loads(json.dumps(vars(comparison(1.0, 1.0)))), "rtol": "1"}).encode(),
        b"[" * 100_000,
    ],
)
def test_an_evidence_file_not_as_the_checks_write_it_is_refused(data):
    with pytest.raises(judge.EvidenceError):
        judge.parse_evidence(data)


def test_an_evidence_file_over_its_limit_is_refused():
    with pytest.raises(judge.EvidenceError, match="MiB"):
        judge.parse_evidence(b" " * (judge.EVIDENCE_LIMIT + 1))


def test_comparisons_are_given_to_the_test_cell_whose_source_ran_them():
    notebook = new_notebook(
        cells=[
            new_code_cell("answer", metadata={"nbgrader": {"grade_id": "a", "solution": True, "grade": False}}),
            new_code_cell("test a", metadata={"nbgrader": {"grade_id": "t", "solution": False, "grade": True}}),
            new_code_cell("scratch"),
        ]
    )
    lines = [
        judge.Comparison(kernel_guard.cell_digest(source), "w", evidence.VALUE, 0.0, 0.0, None, None)
        for source in ("answer", "test a", "scratch", "test a")
    ]
    assert judge.by_test_cell(lines, notebook) == {"t": [lines[1], lines[3]]}


def test_a_cell_draws_the_same_numbers_whatever_ran_before_it():
    """The guard seeds the generators from the cell's source: the reference run and a student's notebook agree."""

    class Cell:
        raw_cell = "x = torch.randn(3)"

    def draws():
        kernel_guard.before_each_cell(Cell)
        return torch.randn(3), np.random.rand(2)

    first = draws()
    torch.rand(7), np.random.rand(5)  # a student's cell drawing in between
    second = draws()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    kernel_guard.before_each_cell(type("Other", (), {"raw_cell": "another cell"}))
    assert not np.array_equal(torch.randn(3), first[0])
