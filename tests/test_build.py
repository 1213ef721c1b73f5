"""lessons/ is exactly what `python -m autograder build` makes from solutions/, and --check says when not."""

import nbformat

from autograder.__main__ import main
from autograder.build import REPO_ROOT, build_lessons, find_lessons, lessons_differing, stale_lessons
from fixtures.courses import make_toy_course


def build(capsys, *arguments, course_root=REPO_ROOT):
    """Run `python -m autograder build ARGUMENTS` in this process; return (exit status, stdout, stderr)."""
    try:
        status = main(["build", *arguments, "--course-root", str(course_root)])
    except SystemExit as error:  # argparse's way out
        status = error.code
    output = capsys.readouterr()
    return status, output.out, output.err


def test_committed_lessons_equal_a_rebuild(capsys):
    assert find_lessons(), "no lessons found under solutions/"
    status, out, err = build(capsys, "--check")
    assert status == 0, f"lessons/ is out of date: run `make lessons` and commit lessons/.\n{out}{err}"


def test_a_release_hides_solutions_and_hidden_tests(tmp_path):
    make_toy_course(tmp_path, ["toy"])
    build_lessons(["toy"], tmp_path)
    text = (tmp_path / "lessons" / "toy" / "toy.ipynb").read_text()
    assert "# YOUR CODE HERE\\n" in text and "raise NotImplementedError()" in text
    for hidden in ["return x * x", "BEGIN SOLUTION", "HIDDEN TESTS", "square(-2)"]:
        assert hidden not in text
    assert sorted(path.name for path in tmp_path.rglob("*") if path.is_file()) == ["toy.ipynb", "toy.ipynb"], (
        "a build writes the release and nothing else (no gradebook.db, no log)"
    )


def test_check_lists_what_differs_and_build_repairs_it(tmp_path, capsys):
    make_toy_course(tmp_path, ["toy_a", "toy_b"])
    build_lessons(["toy_a", "toy_b"], tmp_path)
    assert lessons_differing(["toy_a", "toy_b"], tmp_path) == []

    release = tmp_path / "lessons" / "toy_b" / "toy_b.ipynb"
    edited = nbformat.read(release, as_version=4)
    edited.cells[1].source += "\n# a student's answer"
    nbformat.write(edited, release)
    (tmp_path / "lessons" / "99_removed").mkdir()
    assert lessons_differing(["toy_a", "toy_b"], tmp_path) == ["toy_b"]
    assert stale_lessons(tmp_path) == ["99_removed"]
    status, out, _ = build(capsys, "--check", course_root=tmp_path)
    assert status == 1
    assert "lessons/toy_b differs" in out and "lessons/99_removed has no solutions" in out
    assert "toy_a" not in out

    assert build(capsys, course_root=tmp_path)[0] == 0
    assert build(capsys, "--check", course_root=tmp_path)[0] == 0
    assert not (tmp_path / "lessons" / "99_removed").exists()


def test_unknown_lesson_is_a_usage_error(tmp_path, capsys):
    make_toy_course(tmp_path, ["toy"])
    status, _, err = build(capsys, "no_such_lesson", course_root=tmp_path)
    assert status == 2
    assert "no solution notebook for no_such_lesson" in err


def test_course_pages_are_copied_beside_the_lessons_and_checked(tmp_path, capsys):
    make_toy_course(tmp_path, ["toy"])
    (tmp_path / "solutions" / "notation.md").write_text("# Notation\n| η | learning rate | `lr` |\n")
    build_lessons(["toy"], tmp_path)
    assert (tmp_path / "lessons" / "notation.md").read_text() == (tmp_path / "solutions" / "notation.md").read_text()
    assert build(capsys, "--check", course_root=tmp_path)[0] == 0

    (tmp_path / "lessons" / "notation.md").write_text("# Notation, edited by hand\n")
    status, out, _ = build(capsys, "--check", course_root=tmp_path)
    assert status == 1 and "lessons/notation.md differs" in out
