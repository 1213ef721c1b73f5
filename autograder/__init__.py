"""Course tooling around nbgrader.

- `autograder.checks`: the comparisons that lesson tests call (imported from notebooks, so this
  package imports nothing heavy on its own).
- `python -m autograder build`: regenerate lessons/ from solutions/ (autograder/build.py).
- `python -m autograder grade`: grade a class's submissions into scores, feedback and a CSV
  (autograder/grading/, a pipeline of small steps).
- autograder/nbgrader_config.py: the nbgrader settings both commands use.
"""
