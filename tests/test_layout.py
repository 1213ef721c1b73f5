"""The packages stay apart: the answer key imports no notebook runtime, no plotting and no trainer; the runtime
imports plotting only for its views; the capstone trainer runs where no Jupyter is installed (the GPU machine)."""

import subprocess
import sys

import pytest

from course.lessons import LESSONS, REPO_ROOT


def modules_imported_by(code):
    """The module names in sys.modules after a fresh interpreter runs `code`."""
    script = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    return set(result.stdout.split())


def every_module_of(package):
    """Code that imports every module of `package` but its command line (`__main__` runs on import)."""
    return (
        f"import importlib, pkgutil, {package}\n"
        f"for info in pkgutil.walk_packages({package}.__path__, '{package}.'):\n"
        "    if not info.name.endswith('__main__'):\n"
        "        importlib.import_module(info.name)"
    )


def top_level(modules):
    return {name.split(".")[0] for name in modules}


@pytest.mark.parametrize("code", ["import reference_impl", every_module_of("reference_impl")])
def test_the_answer_key_imports_no_runtime_plotting_or_trainer(code):
    imported = top_level(modules_imported_by(code))
    assert not imported & {"ipywidgets", "matplotlib", "course", "capstone", "autograder", "nbgrader"}


def test_importing_course_imports_no_widgets_or_plotting():
    imported = top_level(modules_imported_by("import course, course.data, course.experiments, course.lessons"))
    assert not imported & {"ipywidgets", "matplotlib", "capstone", "autograder"}


def test_the_capstone_trainer_needs_no_jupyter_or_plotting():
    imported = top_level(modules_imported_by(every_module_of("capstone")))
    assert not imported & {"ipywidgets", "matplotlib", "IPython", "nbgrader", "mnist1d"}


def test_every_lesson_of_the_catalogue_has_its_notebooks_mistakes_and_views():
    import importlib

    import course.views

    assert sorted(LESSONS, key=lambda lesson: lesson.name) == list(LESSONS), "LESSONS is in course order"
    for lesson in LESSONS:
        assert lesson.solution.is_file() and lesson.release.is_file(), lesson.name
        assert importlib.import_module(f"autograder.mistakes.{lesson.mistakes}").EXERCISES, lesson.name
        for view in lesson.views:
            assert callable(getattr(course.views, view)), f"{lesson.name}: course.views has no {view}"
