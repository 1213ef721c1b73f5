"""The notebook runtime: what the lessons use around the student's code, none of it part of the answer key.

- `settings`: fast or full size (`COURSE_FAST`); `style`: the colour-blind-safe palette and plot style;
- `fallback`: the student's function when it is implemented, else the reference;
- `data`: MNIST-1D, generated locally and cached, with its fixed validation split;
- `results`: the recorded full-size runs lessons quote (`make reference-runs`), and the check of those quotes;
- `experiments/`: the small training runs that lessons and views draw;
- `views/`: the interactive views (ipywidgets, matplotlib), drawing only;
- `lessons`: the catalogue of lessons that the build, the tests and the benchmarks read.

Importing `course` imports neither ipywidgets nor matplotlib: only `course.views` does.
"""

from .fallback import implemented_or_reference
from .settings import fast_mode, sized
from .style import PALETTE, use_course_style

__all__ = ["PALETTE", "fast_mode", "implemented_or_reference", "sized", "use_course_style"]
