"""`python -m autograder grade`: grading a class as a pipeline of small steps, one module each.

Two records travel through it (records.py): a GradingRun (the run's settings: what to grade, where
results go, the limits) and a Submission (one student's notebook for one lesson); each submission's
result is a Row, one line of grades.csv.

    command.py          the command's options and description; builds the GradingRun
    pipeline.py         the steps, for the class and for each submission, in order
    intake.py           submissions folder or LMS zip -> each student's notebook per lesson; is it a notebook?
    course_folder.py    the nbgrader course folder DIR/nbgrader: sources, releases, template gradebook
    cache.py            results of earlier runs, reused while notebook and grading are unchanged
    integrity.py        static flags: edited or deleted test cells, forbidden imports, patched modules
    structure.py        a notebook's structure made gradable: copied, fake or retyped graded cells, with notes
    nbgrader_run.py     `nbgrader autograde` in its own process (forked from a server that imported nbgrader once)
                        and gradebook
    cluster.py          the same, each submission a task on a Dask cluster's workers (--scheduler)
    sandbox.py          the kernel nbgrader starts, in bubblewrap's sandbox: own uid and namespaces, read-only
                        course, nothing of the grader's, limits; the threat model is in README
    kernel_guard.py     inside that kernel: puts back helpers a student replaced, and reports it; names and
                        seeds each cell
    judge.py            the grader's own verdict on each test cell, from the checks' evidence, against the
                        lesson's reference run (the solution graded alone)
    execute_step.py     nbgrader's Execute step, recording the exception it gives up with; the autograde steps
    stderr_output.py    a graded cell's warnings (stderr) shown in the feedback, never scored
    output_rules.py     outputs bounded in bytes; a test cell scores all or nothing (no partial credit)
    feedback.py         the student's feedback page: sanitized, rendered under a time limit, a plain fallback
    status.py           graded, timed out, kernel died, ... from the records the run left
    graded_notebook.py  failed tests and interrupted cells, from the autograded notebook
    gradebook.py        lesson points, the merge into DIR/nbgrader/gradebook.db, every row's scores read from it
    manual_grading.py   written answers graded by hand in Formgrader: the instructor's entries kept across
                        regrades and rebuilds, feedback pages rewritten to show them
    report.py           grades.csv, unmapped.txt and the printed summary
    class_report.py     report.html: scores, named mistakes, flags, statuses, pending manual grading, time

This package imports nothing on its own: sandbox.py is the kernel's launcher, and kernel_guard.py runs in the
student's kernel.
"""
