"""The sandboxed nbgrader run of one submission: `nbgrader autograde` in a process of its own.

Each process, forked from a server that has imported nbgrader once (its seconds of imports are paid once a run,
not once a submission), works on the course folder with the submission's own gradebook (a copy of template.db),
starts the sandbox's kernel (autograder/grading/sandbox.py), and is killed together with that kernel when it runs
past the wall-clock limit. What it leaves behind is gathered into an AutogradeOutcome, from which
autograder/grading/status.py tells the submission's status.
"""

import contextlib
import multiprocessing
import os
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.grading import sandbox
from autograder.grading.execute_step import ExecuteFailure, autograde_options

# Bytes of evidence read (autograder/checks/evidence.py): a lesson's reference run writes under 1 MiB.
EVIDENCE_LIMIT = 64 << 20

# Each nbgrader run is a process of its own, forked from a server that has imported nbgrader once: the seconds of
# imports are not paid again by every submission, and nothing of one submission's run outlives it.
_FORK_SERVER = multiprocessing.get_context("forkserver")
_FORK_SERVER.set_forkserver_preload(["nbgrader.apps.nbgraderapp", "autograder.grading.feedback"])


@dataclass(frozen=True)
class AutogradeOutcome:
    """What an `nbgrader autograde` process left behind."""

    exit_status: int | None  # None: stopped at the wall-clock limit
    kernel_exit: sandbox.KernelExit | None  # None: its launcher was killed with it, or no kernel started
    execute_failure: ExecuteFailure | None  # the exception nbgrader's Execute step gave up with, if any
    guard_events: list  # what the kernel guard undid: (cell digest, sentence) (autograder/grading/kernel_guard.py)
    log: Path  # nbgrader's log
    evidence: bytes = b""  # what the checks compared, as the kernel wrote it (autograder/checks/evidence.py)

    def gave_up_with(self, exception_class):
        """Whether nbgrader abandoned the notebook's run on an exception of `exception_class`."""
        return self.execute_failure is not None and self.execute_failure.is_a(exception_class)


def autograde(run, submission, notebook):
    """Autograde `notebook`, the submission as read, in its own nbgrader process and gradebook."""
    run_folder = run.run_folder(submission)
    submitted = run.submitted_notebook(submission)
    shutil.rmtree(submitted.parent, ignore_errors=True)
    submitted.parent.mkdir(parents=True)
    nbformat.write(notebook, submitted)
    shutil.copy(run.course / "template.db", run_folder / "gradebook.db")
    log, failure_file = run_folder / "autograde.log", run_folder / "execute-failure.json"
    with tempfile.TemporaryDirectory(prefix="autograder-") as channel:
        kernel = sandbox.KernelSettings(
            run.limits, exit_report=str(run_folder / "kernel-exit.json"), channel=channel, sandboxed=not run.unsafe
        )
        # Unix sockets, by absolute path in the channel: the one folder the kernel and nbgrader both see.
        arguments = [
            "autograde",
            submission.lesson,
            "--student",
            submission.student,
            "--force",
            f"--Execute.kernel_name={sandbox.KERNEL_NAME}",
            "--KernelManager.transport=ipc",
            f"--KernelManager.ip={Path(channel) / 'kernel'}",
            *autograde_options(failure_file, run.source_notebook(submission.lesson), submitted),
        ]
        if run.cell_timeout is not None:
            arguments.append(f"--Execute.timeout={run.cell_timeout}")
        exit_status = run_nbgrader(
            run, submission, arguments, log, wall_limit=run.wall_limit, environment=kernel.environment()
        )
        guard_events = read_guard_report(kernel.guard_report)
        evidence = read_from_kernel(kernel.evidence, EVIDENCE_LIMIT + 1)
    if exit_status is None:
        # The autograded folder holds the half-done notebook: it must not get a feedback page.
        shutil.rmtree(run.autograded_notebook(submission).parent, ignore_errors=True)
        # Nor are the records read: the kill may have caught the kernel's launcher or nbgrader writing one.
        return AutogradeOutcome(None, None, None, guard_events, log)
    return AutogradeOutcome(
        exit_status,
        sandbox.KernelExit.read(kernel.exit_report),
        ExecuteFailure.read(failure_file),
        guard_events,
        log,
        evidence,
    )


def read_guard_report(path, most=20):
    """The guard's events: (the digest of the cell after which it found it, its sentence cut to 200 characters),
    at most `most` of them."""
    lines = read_from_kernel(path, 64 << 10).decode(errors="replace").splitlines()
    events = [(cell, sentence[:200]) for cell, _, sentence in (line.partition("\t") for line in lines)]
    return [(cell, sentence) for cell, sentence in events if sentence.strip()][:most]


def read_from_kernel(path, limit):
    """The first `limit` bytes of a file the kernel wrote in the channel; b"" when there is none.

    The kernel may have made it anything: it is opened without following a link or waiting on a FIFO, and read
    only if it is a regular file.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:  # none written, or a link
        return b""
    with open(descriptor, "rb") as file:
        return file.read(limit) if stat.S_ISREG(os.fstat(descriptor).st_mode) else b""


def run_nbgrader(run, submission, arguments, log, wall_limit=None, environment=None, gradebook=None):
    """Run `nbgrader ARGUMENTS` on the course in a fresh process, its output going to `log`.

    nbgrader uses `gradebook` (a path), by default the submission's own. Returns the exit status, or None
    when it ran past `wall_limit` seconds: then it is killed together with its kernel.
    """
    arguments = [
        *arguments,
        f"--CourseDirectory.root={run.course}",
        f"--CourseDirectory.db_url=sqlite:///{gradebook or run.run_folder(submission) / 'gradebook.db'}",
    ]
    # The course folder holds nbgrader_config.py; JUPYTER_PATH makes the sandbox kernelspec findable.
    environment = {"COURSE_FAST": "1", "JUPYTER_PATH": str(run.course / "jupyter"), **(environment or {})}
    process = _FORK_SERVER.Process(
        target=_nbgrader_main, args=(arguments, str(run.course), {**os.environ, **environment}, str(log))
    )
    process.start()
    process.join(timeout=wall_limit)
    if process.exitcode is None:
        _kill_with_descendants(process.pid)
        process.join()
        return None
    return process.exitcode


def _nbgrader_main(arguments, folder, environment, log):
    """What `python -m nbgrader ARGUMENTS` does, run in `folder` with exactly `environment`, writing to `log`."""
    from nbgrader.apps.nbgraderapp import NbGraderApp

    # Its parent is the fork server, which ends with the process that started it (a Dask worker killed, say).
    sandbox.die_with_parent()
    os.chdir(folder)
    os.environ.clear()
    os.environ.update(environment)
    # Output goes to a file, not a pipe: a stuck kernel inherits it and would keep a pipe open.
    with open(log, "w") as log_file:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
            os.dup2(log_file.fileno(), stream.fileno())
    NbGraderApp.launch_instance(argv=arguments)


def _kill_with_descendants(pid):
    """Kill a process and everything it started.

    The kernel runs in a session of its own, so killing nbgrader's process group would miss it,
    and a kernel stuck in compiled code never gets to notice that its parent is gone.
    """
    import psutil  # a dependency of ipykernel, so present wherever nbgrader can run a notebook

    try:
        parent = psutil.Process(pid)
        family = parent.children(recursive=True) + [parent]
    except psutil.NoSuchProcess:  # it finished on its own in the meantime
        return
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(family, timeout=10)
