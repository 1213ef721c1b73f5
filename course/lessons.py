"""The catalogue of lessons, in course order: the one list that the build, the notebook, mistake and browser
tests, the view tests and the benchmarks read. A new lesson is added here, beside its solution notebook
(solutions/NAME/NAME.ipynb), its catalogue of known mistakes (autograder/mistakes/MISTAKES.py), its views and,
when it quotes full-size runs, the experiment that records them (course/results.py).
"""

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Lesson:
    name: str  # folder and notebook name, e.g. "01_momentum"
    mistakes: str  # module of autograder.mistakes with the lesson's known wrong answers
    views: tuple = ()  # functions of course.views that build the lesson's interactive views as it shows them
    experiment: str = ""  # module of course.experiments whose reference_runs() records results/NAME.json

    @property
    def number(self) -> str:
        return self.name[:2]

    @property
    def solution(self) -> Path:
        return REPO_ROOT / "solutions" / self.name / f"{self.name}.ipynb"

    @property
    def release(self) -> Path:
        return REPO_ROOT / "lessons" / self.name / f"{self.name}.ipynb"


LESSONS = (
    Lesson("00_landscape", "landscape", ("gradient_flow_explorer",)),
    Lesson("01_momentum", "momentum", ("momentum_explorer",), experiment="momentum"),
    Lesson("02_adaptive", "adaptive", ("adaptive_explorer",)),
    Lesson("03_batch_norm", "batch_norm", ("batch_norm_explorer",)),
    Lesson("04_lr_schedules", "schedules", ("schedule_explorer",)),
    Lesson("05_gradient_clipping", "clipping", ("clipping_vector_explorer", "clipping_training_explorer")),
    Lesson("06_normalization_regularization", "normalization", ("norm_explorer", "dropout_explorer")),
    Lesson("07_init_residual", "init_residual", ("init_explorer",)),
    Lesson("08_capstone_resnet_depth", "capstone_depth", experiment="capstone_depth"),
    Lesson("09_capstone_training_recipe", "capstone_recipe", experiment="capstone_recipe"),
)
LESSON_NAMES = tuple(lesson.name for lesson in LESSONS)
