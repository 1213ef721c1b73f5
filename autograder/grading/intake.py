"""Intake: find each student's notebook for each lesson, in a folder or in a zip downloaded from an LMS.

Accepted shapes (<lesson> is a folder name under solutions/, e.g. 01_momentum):
- a folder with one subfolder per student, holding <lesson>.ipynb or <lesson>/<lesson>.ipynb;
- a zip of the same tree, or of LMS bulk downloads:
  Moodle  "Ada Lovelace_1234_assignsubmission_file_/01_momentum.ipynb"  -> student Ada_Lovelace_1234
  Canvas  "lovelaceada_1234_5678_01_momentum.ipynb" (or "..._LATE_...")  -> student lovelaceada

A notebook whose name contains a lesson name but is not exactly <lesson>.ipynb ("01_momentum (1).ipynb",
Canvas's "01_momentum-2.ipynb") is taken when it is the student's only candidate for that lesson.

Students can read this code, so intake trusts nothing it is handed:
- it follows no symbolic link, in a folder or a zip, and opens nothing but a regular file named *.ipynb: never
  a FIFO (reading one waits forever), a data file beside the notebook, or a zip inside the submission;
- it reads at most MAX_NOTEBOOK_BYTES of a notebook, whatever size the file system or the zip's header states;
- a student id is the name handed in reduced to letters, digits, '_', '-' and '.', at most MAX_ID_BYTES long;
  `Intake.original_ids` keeps the name where the two differ, and two names that reduce to one id stay two students.
Every file that is not graded is listed in `Intake.problems` (the run's unmapped.txt) with the reason: a hidden
name (starting with a dot), macOS metadata, a link, not a regular file, a zip, over the size limit, not a notebook,
outside any student folder, no student to tell, no lesson or several, several copies of one lesson.
`read_notebook` then tells a notebook from a file that only has the name of one.
"""

import hashlib
import os
import re
import stat
import unicodedata
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from operator import attrgetter
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import nbformat

from autograder.build import CourseError, find_lessons, select_lessons

# A lesson's notebook with its figures saved weighs 1-5 MiB; 20 MiB leaves room for large outputs, and bounds
# what intake holds in memory to one such notebook per student and lesson.
MAX_NOTEBOOK_BYTES = 20 * 2**20
# Bytes, not characters: a file name may have 255 bytes, and an accented or CJK letter takes 2 to 4.
MAX_ID_BYTES = 64
MOODLE_FOLDER = re.compile(r"^(?P<student>.+?)_assignsubmission_\w+?_?$")


class NotebookError(ValueError):
    """A file that is not a notebook, said so that the student knows what to do about it."""


@dataclass
class Intake:
    notebooks: dict = field(default_factory=dict)  # (student, lesson) -> bytes of the notebook
    origins: dict = field(default_factory=dict)  # (student, lesson) -> where it came from, for reports
    students: set = field(default_factory=set)
    original_ids: dict = field(default_factory=dict)  # student id -> the name handed in, where the two differ
    problems: list = field(default_factory=list)  # one sentence per file not graded, with the reason
    student_problems: dict = field(default_factory=dict)  # student -> the problems about their own files

    def report(self, problem, student=None):
        """List `problem` once (a zip lists each file of a hidden folder), under `student` too when known."""
        if problem not in self.problems:
            self.problems.append(problem)
            if student is not None:
                self.student_problems.setdefault(student, []).append(problem)

    def problems_of(self, student):
        """The problems about `student`'s own files."""
        return self.student_problems.get(student, [])

    def lessons_submitted(self, lessons):
        """Those of `lessons` someone handed in, in the order given."""
        return [lesson for lesson in lessons if any(key[1] == lesson for key in self.notebooks)]


class _File(NamedTuple):
    """A file of the submissions, not yet opened."""

    path: PurePosixPath  # relative to the submissions folder or zip
    mode: int  # its type and permissions, as lstat or the zip states them; a zip may state none (0)
    size: int  # as the file system or the zip's header states it
    open: partial  # opens it for reading bytes


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
    intake = Intake()
    candidates = {}  # (student, lesson) -> [(exact name?, file)]
    with _listing(source) as files:
        ids = _student_ids(intake, {student_of(file.path) for file in files} - {None})
        for file in files:
            student = ids.get(student_of(file.path))
            if student is not None:
                intake.students.add(student)
            refusal = _refusal(file)
            if refusal:
                intake.report(refusal, student)
                continue
            if student is None:
                intake.report(f"{file.path}: cannot tell whose notebook this is (no student folder or LMS name)")
                continue
            matches = [lesson for lesson in lessons if lesson in file.path.name]
            if len(matches) != 1:
                intake.report(
                    f"{file.path}: matches {'several lessons' if matches else 'no lesson'} "
                    f"(lessons: {', '.join(lessons)})",
                    student,
                )
                continue
            exact = file.path.name.endswith(f"{matches[0]}.ipynb") and file.path.stem.endswith(matches[0])
            candidates.setdefault((student, matches[0]), []).append((exact, file))
        for key, found in sorted(candidates.items()):
            exact = [candidate for candidate in found if candidate[0]]
            chosen = exact if len(exact) == 1 else found
            if len(chosen) != 1:
                intake.report(
                    f"{key[0]}: {len(found)} notebooks for {key[1]} "
                    f"({', '.join(str(candidate[1].path) for candidate in found)}): none graded, keep one",
                    key[0],
                )
                continue
            file = chosen[0][1]
            # A damaged or encrypted zip entry fails in many types (BadZipFile, zlib.error, RuntimeError, ...).
            try:
                data = _read(file)
            except Exception as error:  # noqa: BLE001
                intake.report(f"{file.path}: cannot be read ({type(error).__name__}: {error}): not graded", key[0])
                continue
            if data is None:
                intake.report(_over_the_limit(file.path), key[0])
                continue
            intake.notebooks[key] = data
            intake.origins[key] = str(file.path)
    return intake


@contextmanager
def _listing(source):
    """Every file of the submissions folder or zip, by path; a zip stays open while they are read."""
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            yield sorted(
                (_zip_file(archive, info) for info in archive.infolist() if not info.is_dir()), key=attrgetter("path")
            )
    else:
        yield sorted(_folder_files(source), key=attrgetter("path"))


def _zip_file(archive, info):
    # A zip made on Unix keeps each file's mode in the high 16 bits of external_attr; one made on Windows, none.
    return _File(PurePosixPath(info.filename), info.external_attr >> 16, info.file_size, partial(archive.open, info))


def _folder_files(source):
    """Every file under `source`, and each link or hidden folder as one file: neither is entered."""
    folders = [source]
    while folders:
        folder = folders.pop()
        for entry in os.scandir(folder):
            status = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(status.st_mode) and not _hidden(entry.name):
                folders.append(entry.path)
            else:
                path = Path(entry.path)
                relative = PurePosixPath(path.relative_to(source).as_posix())
                yield _File(relative, status.st_mode, status.st_size, partial(path.open, "rb"))


def _hidden(name):
    """Checkpoints, .DS_Store, .git, and the metadata a macOS zip adds beside each file."""
    return name.startswith(".") or name == "__MACOSX"


def _refusal(file):
    """Why `file` is not graded, whatever it holds, as '<path>: <reason>'; None when it may be a notebook."""
    for depth, part in enumerate(file.path.parts):
        if _hidden(part):
            reason = "macOS metadata" if part == "__MACOSX" else "hidden (its name starts with a dot)"
            return f"{PurePosixPath(*file.path.parts[: depth + 1])}: {reason}: not graded"
    if stat.S_ISLNK(file.mode):
        return f"{file.path}: a symbolic link: not followed, not graded"
    if stat.S_IFMT(file.mode) not in (0, stat.S_IFREG):
        return f"{file.path}: not a regular file (a FIFO, socket or device): not opened, not graded"
    if file.path.suffix.lower() == ".zip":
        return f"{file.path}: a zip inside the submission: not opened, submit the notebook itself"
    if file.path.suffix != ".ipynb":
        where = "" if len(file.path.parts) > 1 else ", outside any student folder"
        return f"{file.path}: not a notebook{where}: not graded"
    if file.size > MAX_NOTEBOOK_BYTES:
        return _over_the_limit(file.path)
    return None


def _over_the_limit(path):
    return f"{path}: over the {MAX_NOTEBOOK_BYTES / 2**20:g} MiB limit for a notebook: not graded"


def _read(file):
    """The bytes of `file`; None when it holds more than MAX_NOTEBOOK_BYTES, whatever size it was said to be."""
    with file.open() as stream:
        data = stream.read(MAX_NOTEBOOK_BYTES + 1)
    return data if len(data) <= MAX_NOTEBOOK_BYTES else None


def student_of(path):
    """The name a file's student handed it in under: its folder (plain or Moodle) or its Canvas file name's start.

    None for a file under a hidden folder, and for a file outside any student folder that is not a notebook.
    """
    top = path.parts[0]
    if _hidden(top):
        return None
    if len(path.parts) > 1:
        moodle = MOODLE_FOLDER.match(top)
        return moodle.group("student") if moodle else top
    canvas = top.split("_", 1)
    return canvas[0] if len(canvas) == 2 and path.suffix == ".ipynb" else None


def _student_ids(intake, names):
    """{name handed in: student id}; a name whose id another name already has gets one of its own, reported."""
    ids = {}
    # A name that is already its own id keeps it, whatever the other names that reduce to it.
    for name in sorted(names, key=lambda name: (_student_id(name) != name, name)):
        student = _student_id(name)
        if student is None:
            continue  # no letter or digit: its notebooks are reported as no one's
        if student in ids.values():
            other = next(taken for taken, its_id in ids.items() if its_id == student)
            ids[name] = _with_digest(student, name)
            intake.report(f"{name}: graded as {ids[name]}: the id {student} is {other}'s", ids[name])
        else:
            ids[name] = student
        if ids[name] != name:
            intake.original_ids[ids[name]] = name
    return ids


def _student_id(name):
    """An id nbgrader and the file system accept: letters, digits, '_', '-' and '.', at most MAX_ID_BYTES.

    A longer one is cut and ends with a digest of the whole name, so that two long names stay two ids.
    """
    # NFC: a zip made on macOS spells "é" as "e" and a combining accent, which is no letter.
    student = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFC", name)).strip("_.-")
    if len(student.encode()) > MAX_ID_BYTES:
        student = _with_digest(student, name)
    return student or None


def _with_digest(student, name):
    """`student`, cut to leave room, then '-' and a digest of `name`."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    kept = student.encode()[: MAX_ID_BYTES - len(digest) - 1].decode(errors="ignore").rstrip("_.-")
    return f"{kept}-{digest}"


def read_notebook(data):
    """The notebook in `data` (bytes) as nbformat 4, validated; raises when it is not a notebook.

    An old (v3) notebook comes back as v4, so it is graded like any other. A byte order mark is allowed (Windows
    editors write one); bytes that are not UTF-8 raise a NotebookError that tells the student what to do.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise NotebookError(
            f"the file is not UTF-8 text (byte 0x{data[error.start]:02x} at position {error.start}): "
            "open it in Jupyter and save it again"
        ) from None
    notebook = nbformat.reads(text, as_version=4)
    nbformat.validate(notebook)
    return notebook
