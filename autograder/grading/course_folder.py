"""The nbgrader course folder a run grades in: DIR/nbgrader, with the lessons' sources, releases and gradebook."""

import hashlib
import json
import shutil

from autograder.build import COURSE_DIRECTORY, NBGRADER_CONFIG, generate_lessons
from autograder.grading import sandbox


def prepare_course(run, lessons):
    """Make run.course an nbgrader course folder whose gradebook knows every graded cell of `lessons`.

    Kept between runs while the lessons' sources are unchanged, so earlier results stay valid;
    rebuilt from scratch (with the feedback pages) when they changed: what the instructor entered in
    Formgrader is kept outside it, in DIR/manual_grades (grading/manual_grading.py). The settings file and the
    sandbox kernelspec are written on every run, so that they are always this grader's.
    """
    sources = {
        lesson: _digest_folder(run.course_root / COURSE_DIRECTORY.source_directory / lesson) for lesson in lessons
    }
    state = run.course / "lessons.json"
    if not (state.is_file() and json.loads(state.read_text()) == sources):
        _build(run, lessons)
        state.write_text(json.dumps(sources))
    # nbgrader, run by the grader or by hand in this folder (formgrader, a regrade), uses the course's settings.
    shutil.copy(NBGRADER_CONFIG, run.course / "nbgrader_config.py")
    sandbox.install_kernelspec(run.course / "jupyter")


def _build(run, lessons):
    for previous in (run.course, run.feedback):
        shutil.rmtree(previous, ignore_errors=True)
    for lesson in lessons:
        shutil.copytree(
            run.course_root / COURSE_DIRECTORY.source_directory / lesson,
            run.course / COURSE_DIRECTORY.source_directory / lesson,
            ignore=shutil.ignore_patterns(*COURSE_DIRECTORY.ignore),
        )
    generate_lessons(
        run.course, lessons, run.course / COURSE_DIRECTORY.release_directory, gradebook=run.course / "gradebook.db"
    )
    # Each submission is graded against a copy of this gradebook that knows the lessons and no student.
    shutil.copy(run.course / "gradebook.db", run.course / "template.db")


def _digest_folder(folder):
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            digest.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()
