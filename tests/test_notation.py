"""One notation (solutions/notation.md, released as lessons/notation.md): every lesson links to it, writes ε one way,
and says which symbol a PyTorch argument is the first time it uses the argument."""

import re

import nbformat
import pytest

from autograder.build import REPO_ROOT
from course.lessons import LESSONS

NOTATION = REPO_ROOT / "solutions" / "notation.md"
# PyTorch argument -> the ways a lesson may write its symbol (unicode or LaTeX).
ARGUMENT_SYMBOLS = {
    "lr": ("η", r"\eta"),
    "momentum": ("μ", r"\mu"),
    "dampening": ("$d$", "=d", "= d", "d)"),
    "alpha": ("ρ", r"\rho"),
    "betas": ("β₁", r"\beta_1"),
    "eps": ("ε", r"\epsilon"),
    "weight_decay": ("λ", r"\lambda"),
}


def markdown_cells(lesson):
    notebook = nbformat.read(lesson.solution, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]


def test_the_notation_page_names_every_argument_the_lessons_are_held_to():
    page = NOTATION.read_text()
    for argument, symbols in ARGUMENT_SYMBOLS.items():
        row = next((line for line in page.splitlines() if f"`{argument}`" in line), None)
        assert row is not None, f"notation.md has no row for `{argument}`"
        assert any(symbol in row for symbol in symbols), f"notation.md's row for `{argument}` lacks {symbols[0]}"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.name)
def test_the_lesson_links_to_the_notation_page_in_its_first_cell(lesson):
    assert "(../notation.md)" in markdown_cells(lesson)[0]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.name)
def test_epsilon_is_written_one_way(lesson):
    for text in markdown_cells(lesson):
        assert r"\varepsilon" not in text and "ϵ" not in text, "write ε as \\epsilon (or ε), never \\varepsilon or ϵ"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.name)
def test_the_first_use_of_a_pytorch_argument_says_its_symbol(lesson):
    problems = []
    for argument, symbols in ARGUMENT_SYMBOLS.items():
        # An argument is "used" in code spans such as `lr`, `SGD(lr=η)` or `Adam(weight_decay=λ)`.
        used = re.compile(rf"`[^`\n]*(?<![\w.\"']){argument}(?![\w\"'])[^`\n]*`")
        first = next((text for text in markdown_cells(lesson) if used.search(text)), None)
        if first is not None and not any(symbol in first for symbol in symbols):
            problems.append(f"`{argument}` is first used in a cell that does not say it is {symbols[0]}")
    assert not problems, "\n".join(problems)
