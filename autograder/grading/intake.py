"""Intake: find each student's notebook for each lesson, in a folder or in a zip downloaded from an LMS.

Accepted shapes (<lesson> is a folder name under solutions/, e.g. 01_momentum):
- a folder with one subfolder per student, holding <lesson>.ipynb or <lesson>/<lesson>.ipynb;
- a zip of the same tree, or of LMS bulk downloads:
  Moodle  "Ada Lovelace_1234_assignsubmission_file_/01_momentum.ipynb"  -> student Ada_Lovelace_1234
  Canvas  "lovelaceada_1234_5678_01_momentum.ipynb" (or "..._LATE_...")  -> student lovelaceada

A notebook whose name contains a lesson name but is not exactly <lesson>.ipynb ("01_momentum (1).ipynb",
Canvas's "01_momentum-2.ipynb") is taken when it is the student's only candidate for that lesson.
Everything that cannot be mapped to one student and one lesson is listed in `Intake.problems`.
`read_notebook` then tells a notebook from a file that only has the name of one.
"""

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import nbformat

from autograder.build import CourseError, find_lessons, select_lessons

MOODLE_FOLDER = re.compile(r"^(?P<student>.+?)_assignsubmission_\w+?_?$")


@dataclass
class Intake:
    notebooks: dict = field(default_factory=dict)  # (student, lesson) -> bytes of the notebook
    origins: dict = field(default_factory=dict)  # (student, lesson) -> where it came from, for reports
    students: set = field(default_factory=set)
    problems: list = field(default_factory=list)  # one sentence per file that could not be mapped

    def problems_of(self, student):
        """The problems about `student`'s own files (each begins with the student's folder or name)."""
        return [problem for problem in self.problems if problem.startswith(student)]

    def lessons_submitted(self, lessons):
        """Those of `lessons` someone handed in, in the order given."""
        return [lesson for lesson in lessons if any(key[1] == lesson for key in self.notebooks)]


def read_submissions(run):
    """The run's Intake and the lessons to grade: those asked for, else every lesson someone submitted."""
    known = find_lessons(run.course_root)
    intake = collect(run.submissions, known)
    lessons = select_lessons(run.lessons, run.course_root) if run.lessons else intake.lessons_submitted(known)
    if not intake.students or not lessons:
        raise CourseError(
            f"nothing to grade in {run.submissions}: it needs one folder per student holding "
            f"lesson notebooks (lessons: {', '.join(known)})" + problem_list(intake.problems)
        )
    return intake, lessons


def problem_list(problems):
    """The problems as indented lines, for a message or the summary."""
    return "".join(f"\n  {problem}" for problem in problems)


def collect(source, lessons):
    """Read a submissions folder or zip into an Intake for `lessons`."""
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            files = [
                (PurePosixPath(info.filename), archive.read(info)) for info in archive.infolist() if not info.is_dir()
            ]
    else:
        files = [
            (PurePosixPath(path.relative_to(source).as_posix()), path.read_bytes())
            for path in sorted(source.rglob("*"))
            if path.is_file()
        ]
    intake = Intake()
    candidates = {}  # (student, lesson) -> [(exact name?, origin, bytes)]
    for path, data in files:
        if any(part.startswith(".") or part == "__MACOSX" for part in path.parts):
            continue  # checkpoints, .DS_Store, macOS zip metadata
        if len(path.parts) == 1 and path.suffix != ".ipynb":
            continue  # a loose file beside the student folders (a README, an LMS index page)
        student = student_of(path)
        if student is None:
            if path.suffix == ".ipynb":
                intake.problems.append(f"{path}: cannot tell whose notebook this is (no student folder or LMS name)")
            continue
        intake.students.add(student)
        if path.suffix != ".ipynb":
            continue
        matches = [lesson for lesson in lessons if lesson in path.name]
        if len(matches) != 1:
            intake.problems.append(
                f"{path}: matches {'no lesson' if not matches else 'several lessons'} (lessons: {', '.join(lessons)})"
            )
            continue
        candidates.setdefault((student, matches[0]), []).append(
            (path.name.endswith(f"{matches[0]}.ipynb") and path.stem.endswith(matches[0]), path, data)
        )
    for key, found in sorted(candidates.items()):
        exact = [candidate for candidate in found if candidate[0]]
        chosen = exact if len(exact) == 1 else found
        if len(chosen) != 1:
            intake.problems.append(
                f"{key[0]}: {len(found)} notebooks for {key[1]} "
                f"({', '.join(str(c[1]) for c in found)}): none graded, keep one"
            )
            continue
        _, path, data = chosen[0]
        intake.notebooks[key] = data
        intake.origins[key] = str(path)
    return intake


def student_of(path):
    """The student id a file belongs to, from its folder (plain or Moodle) or its Canvas file name."""
    if len(path.parts) > 1:
        folder = path.parts[0]
        moodle = MOODLE_FOLDER.match(folder)
        return _clean(moodle.group("student") if moodle else folder)
    canvas = path.name.split("_", 1)
    return _clean(canvas[0]) if len(canvas) == 2 else None


def _clean(name):
    """A student id nbgrader and the file system accept: letters, digits, '_', '-' and '.'."""
    return re.sub(r"[^\w.-]+", "_", name.strip()).strip("_") or None


def read_notebook(data):
    """The notebook in `data` (bytes) as nbformat 4, validated; raises when it is not a notebook.

    An old (v3) notebook comes back as v4, so it is graded like any other.
    """
    notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    nbformat.validate(notebook)
    return notebook
