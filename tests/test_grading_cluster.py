"""Grading on a Dask cluster (autograder/grading/cluster.py): a real distributed.LocalCluster of two worker processes
grades a toy class as a local run does, with each submission's files carried back as bytes, and a worker killed
in the middle of the batch costs nothing: its task runs again on a worker, and every student is graded once."""

import os
import signal
import threading
import time

import dask
import nbformat
import pytest
from distributed import Client, LocalCluster
from test_class_report import Page
from test_grading import grade, kernels_left_in, sandbox_options, submit

from autograder.build import CourseError, build_lessons
from autograder.grading import cluster
from autograder.grading.pipeline import grade_class
from autograder.grading.records import GradingRun, Submission
from autograder.grading.status import STATUSES
from fixtures.courses import fill_in, make_toy_course

LESSONS = ["toy_a", "toy_b"]
# Each submission: (lesson, edits of the solution or None for the untouched release) -> expected (status, score).
CLASS = {
    ("ada", "toy_a"): ({}, ("graded", "3")),
    ("ada", "toy_b"): ({}, ("graded", "3")),
    ("bob", "toy_a"): (None, ("graded", "0")),
    ("cy", "toy_a"): ({"toy_a_cube_answer": [("return x ** 3", "import os\n    os._exit(1)")]}, ("kernel died", "0")),
    ("dee", "toy_b"): ({"toy_b_cube_answer": [("return x ** 3", "return x ** 2")]}, ("graded", "1")),
    ("eve", "toy_a"): ({}, ("graded", "3")),
    ("fay", "toy_b"): ({}, ("graded", "3")),
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A toy course whose hidden tests call autograder.checks (so the judge needs the reference run) and the class."""
    root = tmp_path_factory.mktemp("cluster")
    course, submissions = root / "course", root / "submissions"
    make_toy_course(course, LESSONS, checked=True)
    build_lessons(LESSONS, course)
    for (student, lesson), (edits, _) in CLASS.items():
        release = nbformat.read(course / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
        solution = nbformat.read(course / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
        submit(submissions, student, lesson, release if edits is None else fill_in(release, solution, edits))
    return course, submissions


@pytest.fixture(scope="module")
def local_cluster():
    # Each submission is graded in a process the worker forks, which a daemonic worker may not start.
    with (
        dask.config.set({"distributed.worker.daemon": False}),
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local,
    ):
        yield local


def expected_rows():
    return {key: expected for key, (_, expected) in CLASS.items()}


@pytest.mark.slow
def test_a_class_graded_on_the_cluster_matches_the_same_class_graded_here(course, local_cluster, tmp_path):
    course_root, submissions = course
    on_cluster, _ = grade(
        submissions, tmp_path / "cluster", "--scheduler", local_cluster.scheduler_address, course_root=course_root
    )
    here, _ = grade(submissions, tmp_path / "here", "--jobs", "2", course_root=course_root)

    graded = {key: (row["status"], row["score"]) for key, row in on_cluster.items() if row["status"] != "missing"}
    assert graded == expected_rows()
    # The same grades, cell by cell, failures and flags alike; only the run's own records differ.
    assert on_cluster == here
    # What the workers made came back as files: the feedback pages, and the submissions in the course gradebook.
    pages = (tmp_path / "cluster" / "feedback").rglob("*.html")
    assert sorted(path.relative_to(tmp_path / "cluster" / "feedback").as_posix() for path in pages) == [
        f"{student}/{lesson}/{lesson}.html"
        for (student, lesson), (_, (status, _)) in CLASS.items()
        if status == "graded"
    ]
    assert "toy_b_cube" in (tmp_path / "cluster" / "feedback" / "dee" / "toy_b" / "toy_b.html").read_text()
    # The class report of the fixture class says what grades.csv says.
    page = Page((tmp_path / "cluster" / "report.html").read_text())
    assert page.values("status-counts") == {
        status: [sum(row["status"] == status for row in on_cluster.values())] for status in STATUSES
    }
    [(_, [count, mean, *_])] = page.values("scores-toy_a").items()
    toy_a = [
        float(row["score"])
        for (_, lesson), row in on_cluster.items()
        if lesson == "toy_a" and row["status"] == "graded"
    ]
    assert (count, mean) == (len(toy_a), pytest.approx(sum(toy_a) / len(toy_a)))


def worker_scratch():
    """The scratch folders of this worker's course folders (run on each worker)."""
    return [str(run.out.parent) for run in cluster._WORKER_RUNS.values()]


@pytest.mark.slow
def test_a_worker_killed_mid_batch_costs_nothing(course, local_cluster, tmp_path):
    course_root, submissions = course
    run = GradingRun(submissions, tmp_path / "out", course_root=course_root, scheduler=local_cluster.scheduler_address)
    run = GradingRun(**{**vars(run), "unsafe": bool(sandbox_options())})
    result = {}
    batch = threading.Thread(target=lambda: result.update(rows=grade_class(run)[0]))
    batch.start()
    with Client(local_cluster.scheduler_address) as client:
        pids = client.run(os.getpid)
        victim = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline:
            busy = [
                address for address, keys in client.processing().items() if any("grade-" in str(key) for key in keys)
            ]
            victim = busy[0] if busy else None
            time.sleep(0.2)
        assert victim is not None, "no grading task ever ran"
        time.sleep(1)  # into the task: its kernel started
        scratch = client.run(worker_scratch, workers=[victim])[victim]
        os.kill(pids[victim], signal.SIGKILL)
    batch.join(timeout=600)
    assert not batch.is_alive()

    rows = result["rows"]
    assert len(rows) == len({(row.student, row.lesson) for row in rows}), "a student graded twice"
    graded = {(row.student, row.lesson): (row.status, f"{row.score:g}") for row in rows if row.status != "missing"}
    assert graded == expected_rows()
    # The killed worker's grading processes and kernels went with it.
    for _ in range(50):
        left = [process for folder in scratch for process in kernels_left_in(folder)]
        if not left:
            break
        time.sleep(0.2)
    assert left == []


def test_files_from_a_worker_are_written_only_in_the_submissions_own_folders(tmp_path):
    run = GradingRun(tmp_path / "submissions", tmp_path / "out")
    submission = Submission("ada", "toy_a", b"{}", (), 3, "key")
    cluster._unpack(run, submission, {"feedback/ada/toy_a/toy_a.html": b"<p>page</p>"})
    assert (run.feedback_folder(submission) / "toy_a.html").read_bytes() == b"<p>page</p>"
    for outside in ["grades.csv", "feedback/bob/toy_a/toy_a.html", "nbgrader/runs/ada/toy_a/../../bob/x", "../x"]:
        with pytest.raises(ValueError, match="outside the submission's folders"):
            cluster._unpack(run, submission, {outside: b"forged"})
    assert not (tmp_path / "out" / "grades.csv").exists() and not (tmp_path / "x").exists()


def test_a_scheduler_out_of_reach_stops_the_batch_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "1s")
    submission = Submission("ada", "toy_a", b"{}", (), 3, "key")
    run = GradingRun(tmp_path / "submissions", tmp_path / "out", scheduler="tcp://127.0.0.1:9")
    with pytest.raises(CourseError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        list(cluster.graded(run, [submission]))
