"""Regenerate the student lessons from the instructor solutions.

    python -m autograder build                  # every lesson: solutions/NN_topic -> lessons/NN_topic
    python -m autograder build 01_momentum      # only the lessons named
    python -m autograder build --check          # rebuild into a temporary folder, list what differs

Each lesson is one nbgrader assignment: `nbgrader generate_assignment` replaces the code between
### BEGIN SOLUTION and ### END SOLUTION with a stub, removes the hidden tests and locks the test
cells. It is run in this process with autograder/nbgrader_config.py and no gradebook, so a build
writes nothing but lessons/. The course's own pages (COURSE_PAGES, e.g. solutions/notation.md, which every
lesson links to as ../notation.md) are copied beside the lessons as they are. The output depends only on
solutions/, which is what lets tests/test_build.py demand that the committed lessons equal a rebuild byte for byte.
"""

import fnmatch
import shutil
import tempfile
from pathlib import Path

from course.lessons import LESSON_NAMES

REPO_ROOT = Path(__file__).resolve().parent.parent
NBGRADER_CONFIG = Path(__file__).with_name("nbgrader_config.py")
COURSE_PAGES = ("notation.md",)


def load_nbgrader_config():
    """The course's nbgrader settings as a traitlets Config, ready to be extended per run."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader(NBGRADER_CONFIG.name, path=str(NBGRADER_CONFIG.parent)).load_config()


# Folder names, ignore list and course id as nbgrader_config.py sets them.
COURSE_DIRECTORY = load_nbgrader_config().CourseDirectory


class CourseError(Exception):
    """A problem with what the command was asked to do, reported to the user without a traceback."""


def find_lessons(course_root=REPO_ROOT):
    """Names of the lessons in course order: every folder solutions/NN_topic holding NN_topic.ipynb.

    For this repository they must be course.lessons.LESSONS, the catalogue the tests and benchmarks read:
    a lesson missing from it would be built but never tested.
    """
    solutions = Path(course_root) / COURSE_DIRECTORY.source_directory
    found = sorted(
        notebook.parent.name for notebook in solutions.glob("*/*.ipynb") if notebook.stem == notebook.parent.name
    )
    if Path(course_root).resolve() == REPO_ROOT and tuple(found) != LESSON_NAMES:
        raise CourseError(
            f"solutions/ holds {', '.join(found)} but course/lessons.py lists "
            f"{', '.join(LESSON_NAMES)}: keep the catalogue and the solutions in step"
        )
    return found


def select_lessons(names, course_root=REPO_ROOT):
    """The lessons named (all of them when none is), in course order."""
    known = find_lessons(course_root)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise CourseError(f"no solution notebook for {', '.join(unknown)} (lessons: {', '.join(known)})")
    return [lesson for lesson in known if lesson in names] if names else known


def generate_lessons(course_root, lessons, release_dir, gradebook=None):
    """Run `nbgrader generate_assignment` on each lesson, writing the releases under `release_dir`.

    With `gradebook` (a path), the assignments and their graded cells are recorded there, as
    autograding needs; without it no database is created or touched.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    for lesson in lessons:
        config = load_nbgrader_config()
        config.CourseDirectory.root = str(Path(course_root).resolve())
        config.CourseDirectory.release_directory = str(Path(release_dir).resolve())
        config.CourseDirectory.assignment_id = lesson
        if gradebook is None:
            config.GenerateAssignment.no_database = True
            config.SaveCells.enabled = False
        else:
            config.CourseDirectory.db_url = f"sqlite:///{Path(gradebook).resolve()}"
        GenerateAssignment(coursedir=CourseDirectory(config=config), config=config).start()


def build_lessons(lessons, course_root=REPO_ROOT):
    """Replace lessons/<lesson>/ with a fresh release of solutions/<lesson>/ for each lesson given."""
    lessons_dir = _release_dir(course_root)
    with tempfile.TemporaryDirectory(prefix="autograder-build-") as scratch:
        generate_lessons(course_root, lessons, scratch)
        for lesson in lessons:
            # Replace the whole folder so that files removed from the solution disappear too.
            shutil.rmtree(lessons_dir / lesson, ignore_errors=True)
            shutil.copytree(Path(scratch) / lesson, lessons_dir / lesson)
    for page in _course_pages(course_root):
        shutil.copy(page, lessons_dir / page.name)


def pages_differing(course_root=REPO_ROOT):
    """The course pages (COURSE_PAGES) whose copy under lessons/ is missing or not the one in solutions/."""
    lessons_dir = _release_dir(course_root)
    return [
        page.name
        for page in _course_pages(course_root)
        if not (lessons_dir / page.name).is_file() or (lessons_dir / page.name).read_bytes() != page.read_bytes()
    ]


def _course_pages(course_root):
    solutions = Path(course_root) / COURSE_DIRECTORY.source_directory
    return [solutions / name for name in COURSE_PAGES if (solutions / name).is_file()]


def stale_lessons(course_root=REPO_ROOT):
    """Folders under lessons/ whose solution no longer exists (a renamed or removed lesson)."""
    lessons_dir = _release_dir(course_root)
    released = {folder.name for folder in lessons_dir.iterdir() if folder.is_dir()} if lessons_dir.is_dir() else set()
    return sorted(released - set(find_lessons(course_root)))


def lessons_differing(lessons, course_root=REPO_ROOT):
    """The lessons whose folder under lessons/ is not byte for byte what a rebuild would write."""
    lessons_dir = _release_dir(course_root)
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as scratch:
        generate_lessons(course_root, lessons, scratch)
        return [
            lesson
            for lesson in lessons
            if _folder_contents(Path(scratch) / lesson) != _folder_contents(lessons_dir / lesson)
        ]


def _release_dir(course_root):
    return Path(course_root) / COURSE_DIRECTORY.release_directory


def _folder_contents(folder):
    """{relative path: bytes} of the files in `folder`, skipping what nbgrader ignores (checkpoints, caches)."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and not any(
            fnmatch.fnmatch(part, pattern)
            for part in path.relative_to(folder).parts
            for pattern in COURSE_DIRECTORY.ignore
        )
    }


def add_arguments(parser):
    parser.add_argument(
        "lessons",
        nargs="*",
        metavar="LESSON",
        help="lesson folder names, e.g. 01_momentum (default: every lesson in solutions/)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing: rebuild into a temporary folder and exit 1 listing the lessons "
        "whose committed release differs",
    )
    parser.add_argument(
        "--course-root",
        type=Path,
        default=REPO_ROOT,
        help="folder holding solutions/ and lessons/ (default: this repository)",
    )


def run(args):
    """Entry point of `python -m autograder build`; returns the exit status."""
    lessons = select_lessons(args.lessons, args.course_root)
    # A stale folder only matters when the whole course is built or checked.
    stale = [] if args.lessons else stale_lessons(args.course_root)
    if args.check:
        differing = lessons_differing(lessons, args.course_root) + pages_differing(args.course_root)
        for lesson in differing:
            print(f"lessons/{lesson} differs from a rebuild of solutions/{lesson}")
        for lesson in stale:
            print(f"lessons/{lesson} has no solutions/{lesson}")
        if differing or stale:
            print("Run `python -m autograder build` (make lessons) and commit lessons/.")
            return 1
        print(f"lessons/ is up to date ({len(lessons)} lessons)")
        return 0
    build_lessons(lessons, args.course_root)
    for lesson in stale:
        shutil.rmtree(_release_dir(args.course_root) / lesson)
        print(f"removed lessons/{lesson}: it has no solution any more")
    print(f"built lessons/ from solutions/: {', '.join(lessons)}")
    return 0
