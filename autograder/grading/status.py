"""The status of a submission (grades.csv's `status` column), told from records rather than from log text.

    graded, needs manual grading, timed out, kernel died, invalid notebook, missing, error

`needs manual grading` is a graded submission with a written answer not yet scored by hand in Formgrader; it
is told when the scores are read from the course gradebook (autograder/grading/gradebook.py: read_scores).
`missing` and `invalid notebook` are intake's (autograder/grading/intake.py); `autograde_status` tells the
others from what the nbgrader run left (autograder/grading/nbgrader_run.py), in this order:
- the nbgrader process: stopped at the wall-clock limit, or its exit status;
- the kernel's end as its launcher recorded it (sandbox.KernelExit): SIGXCPU is the CPU-time limit;
- the exception nbgrader's Execute step gave up with (execute_step.ExecuteFailure): nbclient's
  CellTimeoutError (a cell that did not stop when interrupted) or DeadKernelError;
- the autograded notebook: the cells nbgrader interrupted but could go on after.
Only the detail of an `error` is read from nbgrader's log: see `last_exception_in_log`.
"""

import re
import signal

from nbclient.exceptions import CellTimeoutError, DeadKernelError

from autograder.grading.graded_notebook import interrupted_cells

GRADED = "graded"
NEEDS_MANUAL_GRADING = "needs manual grading"
TIMED_OUT = "timed out"
KERNEL_DIED = "kernel died"
INVALID = "invalid notebook"
MISSING = "missing"
ERROR = "error"
STATUSES = (GRADED, NEEDS_MANUAL_GRADING, TIMED_OUT, KERNEL_DIED, INVALID, MISSING, ERROR)
# nbgrader ran the notebook: the submission is in the course gradebook, with its scores.
AUTOGRADED = (GRADED, NEEDS_MANUAL_GRADING)


def autograde_status(run, submission, outcome):
    """(status, detail) of a submission from the AutogradeOutcome of its nbgrader run."""
    log = outcome.log.relative_to(run.out)
    if outcome.exit_status is None:
        return TIMED_OUT, f"grading ran past the wall-clock limit of {run.wall_limit} s and was stopped"
    if outcome.exit_status == 0:
        interrupted = interrupted_cells(run.autograded_notebook(submission))
        return GRADED, f"interrupted after the time limit: {', '.join(interrupted)}" if interrupted else ""
    kernel_end = outcome.kernel_exit.describe(run.limits) if outcome.kernel_exit else ""
    if outcome.kernel_exit and outcome.kernel_exit.signal == signal.SIGXCPU:
        return TIMED_OUT, kernel_end
    if outcome.gave_up_with(CellTimeoutError):
        return TIMED_OUT, "a cell ran past its time limit and could not be interrupted"
    if outcome.gave_up_with(DeadKernelError):
        return KERNEL_DIED, f"the kernel died ({kernel_end or 'no exit status'}); log: {log}"
    return ERROR, f"{last_exception_in_log(outcome.log.read_text(errors='replace'))} (log: {log})"


def last_exception_in_log(log_text):
    """The last 'SomeError: message' line of nbgrader's log, e.g. 'sqlite3.OperationalError: database is locked'.

    Read from the log because nbgrader reports a failure outside the notebook's run (a notebook its
    sanitizing steps reject, a gradebook it cannot open) only there, as a traceback, and exits 1.
    """
    found = re.findall(r"^\s*([\w.]*(?:Error|Exception|Interrupt)\b.*)$", log_text, flags=re.MULTILINE)
    return found[-1].strip()[:200] if found else "nbgrader autograde failed"
