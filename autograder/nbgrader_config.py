"""nbgrader configuration for Optimization Deep.

One assignment per lesson folder: solutions/NN_topic/NN_topic.ipynb is the source that
`nbgrader generate_assignment` turns into the student release lessons/NN_topic/NN_topic.ipynb.
Read by `python -m autograder build` (loaded in process), by `python -m autograder grade` (copied
into the nbgrader course folder it grades in) and by JupyterLab's Validate button under `make lab`.
Each sets the course root itself, so this file holds only what stays the same everywhere.
"""

c = get_config()  # noqa: F821 (traitlets injects get_config into config files)

c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lessons"
c.CourseDirectory.course_id = "optimization_deep"
# Checkpoints and caches in solutions/ must never reach a release or a grading run.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store"]

# The stub a student finds in place of each solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Every lesson runs top to bottom in well under a minute with COURSE_FAST=1, so a cell that
# takes longer than this is stuck (an endless loop, say). The kernel is interrupted, the cell
# is marked with an error and grading goes on with the next cell.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
# A test cell the student deleted is put back (with a note) and run, so it scores 0 rather than
# waiting for a manual grade; edited test cells are always restored from the source.
c.OverwriteCells.add_missing_cells = True
# Keep a runaway print loop from bloating the graded notebook and its feedback page.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60
# Warnings are shown, never scored: grading turns a graded cell's stderr into output nbgrader does not score
# (autograder/grading/stderr_output.py). Validate (JupyterLab's button, `nbgrader validate`) runs a fixed list of
# nbgrader's steps, so it is told through its kernel instead: there sys.stderr is sys.stdout, and Validate passes a
# notebook that only warns, as grading scores it in full. Set under Validator, it leaves grading's kernel alone.
# Likewise a test scores all or nothing (autograder/grading/output_rules.py): Validate's kernel shows no result of a
# cell's last expression, which nbgrader would read as a partial score.
c.Validator.Execute.extra_arguments = [
    "--IPKernelApp.exec_lines=__import__('sys').stderr = __import__('sys').stdout",
    "--InteractiveShell.ast_node_interactivity=none",
]
