"""The records the grading steps pass along: the run's settings, one submission, and its line of grades.csv."""

from dataclasses import dataclass, field
from pathlib import Path

from autograder.build import COURSE_DIRECTORY, REPO_ROOT
from autograder.grading.sandbox import Limits

DEFAULT_WALL_LIMIT = 600


@dataclass(frozen=True)
class GradingRun:
    """The run's settings: what to grade, where results go, and the limits every notebook is graded under.

    Only `cell_timeout`, `wall_limit`, `limits` and `unsafe` change a grade (autograder/grading/cache.py regrades
    when they change); the folders where results go derive from `out`.
    """

    submissions: Path  # a folder with one subfolder per student, or a zip of one
    out: Path
    lessons: tuple = ()  # the lessons asked for; none: every lesson someone submitted
    course_root: Path = REPO_ROOT  # the folder holding solutions/
    cell_timeout: int | None = None  # None: Execute.timeout of autograder/nbgrader_config.py
    wall_limit: int = DEFAULT_WALL_LIMIT
    limits: Limits = field(default_factory=Limits)
    jobs: int = 1
    unsafe: bool = False  # --unsafe-no-sandbox: student code runs without the sandbox (autograder/grading/sandbox.py)
    # --reference-cache: where the reference runs' evidence is kept (autograder/grading/judge.py); None: the course's
    reference_cache: Path | None = None
    # --scheduler: the address of a Dask scheduler whose workers grade the submissions (autograder/grading/cluster.py)
    scheduler: str | None = None

    def __post_init__(self):
        # Absolute paths: nbgrader runs in the course folder.
        for name in ("submissions", "out", "course_root"):
            object.__setattr__(self, name, Path(getattr(self, name)).resolve())
        if self.reference_cache is None:
            object.__setattr__(self, "reference_cache", self.course / "reference")
        object.__setattr__(self, "reference_cache", Path(self.reference_cache).resolve())

    @property
    def course(self):
        """The nbgrader course folder: gradebook.db for the Formgrader, submitted/, autograded/, runs/."""
        return self.out / "nbgrader"

    @property
    def feedback(self):
        return self.out / "feedback"

    @property
    def manual_grades(self):
        """What the instructor entered in Formgrader, kept outside the course folder (grading/manual_grading.py)."""
        return self.out / "manual_grades"

    def source_notebook(self, lesson):
        """The lesson's solution notebook as copied into the course folder (with its hidden tests)."""
        return self.course / COURSE_DIRECTORY.source_directory / lesson / f"{lesson}.ipynb"

    def release_notebook(self, lesson):
        return self.course / COURSE_DIRECTORY.release_directory / lesson / f"{lesson}.ipynb"

    def run_folder(self, submission):
        """The submission's (or its Row's) own folder: its gradebook, nbgrader's logs, the kernel's end, the row."""
        return self.course / "runs" / submission.student / submission.lesson

    def submitted_notebook(self, submission):
        return self.course / "submitted" / submission.student / submission.lesson / f"{submission.lesson}.ipynb"

    def autograded_notebook(self, submission):
        return self.course / "autograded" / submission.student / submission.lesson / f"{submission.lesson}.ipynb"

    def manual_grades_file(self, student, lesson):
        return self.manual_grades / student / f"{lesson}.json"

    def feedback_folder(self, submission):
        """Where the student's feedback page goes: out/feedback/<student>/<lesson>/."""
        return self.feedback / submission.student / submission.lesson


@dataclass(frozen=True)
class Submission:
    """One student's notebook for one lesson, as handed in, with what grading it needs to know."""

    student: str
    lesson: str
    notebook: bytes | None  # the file as handed in; None: nothing handed in for this lesson
    unmapped: tuple  # the student's files that could not be mapped, named when the notebook is missing
    max_score: float  # the lesson's points
    cache_key: str  # digest of the notebook and of all else its grade depends on (autograder/grading/cache.py)


@dataclass
class Row:
    """One line of grades.csv: a student's result on one lesson.

    The scores of a graded row are read from the course gradebook at every run (gradebook.read_scores):
    those an earlier run saved are replaced.
    """

    student: str
    lesson: str
    status: str
    detail: str = ""
    score: float | None = 0.0  # None: a written answer still waits for its manual score, so there is no final score
    max_score: float = 0.0
    auto_score: float = 0.0  # the test cells' points
    auto_max_score: float = 0.0
    manual_score: float | None = 0.0  # the points of the cells graded by hand; None while one waits
    manual_max_score: float = 0.0
    manual_pending: list = field(default_factory=list)  # grade_ids of the written answers still without a score
    cell_scores: dict = field(default_factory=dict)  # grade_id -> score; "" for a written answer still waiting
    failures: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    seconds: float = 0.0
    regraded: bool = True
    submitted_as: str = ""  # the student's folder or LMS name as handed in, where it differs from `student`
