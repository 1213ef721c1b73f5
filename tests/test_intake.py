"""Intake of hostile submissions (autograder/grading/intake.py): what it refuses, never opens, and says why."""

import csv
import os
import threading
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.grading import intake as intake_module
from autograder.grading.intake import NotebookError, collect, read_notebook
from autograder.grading.records import Row
from autograder.grading.report import write_csv

LESSONS = ["toy_a", "toy_b"]
NOTEBOOK = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])).encode()


def hand_in(folder, relative, data=NOTEBOOK):
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def symlink_zip_entry(zip_file, name, target):
    """A zip entry that unzip would make a symbolic link to `target`."""
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777 << 16) | info.external_attr
    zip_file.writestr(info, target)


@pytest.fixture
def small_limit(monkeypatch):
    """A notebook limit of 1000 bytes, so that a test writes little to exceed it."""
    monkeypatch.setattr(intake_module, "MAX_NOTEBOOK_BYTES", 1000)
    return 1000


@pytest.fixture
def opened(monkeypatch):
    """The names of the files opened for reading in a folder, recorded."""
    paths = []
    original = Path.open

    def recording_open(self, mode="r", *args, **kwargs):
        if "r" in mode:
            paths.append(self.name)
        return original(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", recording_open)
    return paths


def test_symlink_to_a_notebook_outside_is_not_followed(tmp_path):
    solution = hand_in(tmp_path, "instructor/toy_a.ipynb", b"the instructor's solution")
    submissions = tmp_path / "submissions"
    hand_in(submissions, "ada/toy_a.ipynb")
    (submissions / "mallory").mkdir()
    (submissions / "mallory" / "toy_a.ipynb").symlink_to(solution)
    intake = collect(submissions, LESSONS)
    assert sorted(intake.notebooks) == [("ada", "toy_a")]
    assert intake.problems == ["mallory/toy_a.ipynb: a symbolic link: not followed, not graded"]
    assert intake.problems_of("mallory") == intake.problems
    assert "mallory" in intake.students  # a row says what went wrong


def test_symlinked_student_folder_is_not_entered(tmp_path):
    hand_in(tmp_path, "solutions/toy_a.ipynb")
    submissions = tmp_path / "submissions"
    hand_in(submissions, "ada/toy_a.ipynb")
    (submissions / "mallory").symlink_to(tmp_path / "solutions", target_is_directory=True)
    intake = collect(submissions, LESSONS)
    assert sorted(intake.notebooks) == [("ada", "toy_a")]
    assert intake.problems == ["mallory: a symbolic link: not followed, not graded"]


def test_zip_symlink_entry_is_not_read(tmp_path):
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr("ada/toy_a.ipynb", NOTEBOOK)
        symlink_zip_entry(zip_file, "mallory/toy_a.ipynb", "../../solutions/toy_a/toy_a.ipynb")
    intake = collect(archive, LESSONS)
    assert sorted(intake.notebooks) == [("ada", "toy_a")]
    assert intake.problems == ["mallory/toy_a.ipynb: a symbolic link: not followed, not graded"]


def test_hidden_folder_and_file_are_listed_once(tmp_path):
    hand_in(tmp_path, "ada/toy_a.ipynb")
    hand_in(tmp_path, "ada/.ipynb_checkpoints/toy_a-checkpoint.ipynb")
    hand_in(tmp_path, "ada/.ipynb_checkpoints/toy_b-checkpoint.ipynb")
    hand_in(tmp_path, "bob/.toy_a.ipynb")
    hand_in(tmp_path, ".git/config", b"")
    intake = collect(tmp_path, LESSONS)
    assert sorted(intake.notebooks) == [("ada", "toy_a")]
    assert intake.problems == [
        ".git: hidden (its name starts with a dot): not graded",
        "ada/.ipynb_checkpoints: hidden (its name starts with a dot): not graded",
        "bob/.toy_a.ipynb: hidden (its name starts with a dot): not graded",
    ]
    assert sorted(intake.students) == ["ada", "bob"]  # bob handed in something: his row says what


def test_hidden_entries_in_a_zip_are_listed_once(tmp_path):
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr("ada/toy_a.ipynb", NOTEBOOK)
        zip_file.writestr("ada/.ipynb_checkpoints/toy_a-checkpoint.ipynb", NOTEBOOK)
        zip_file.writestr("ada/.ipynb_checkpoints/toy_b-checkpoint.ipynb", NOTEBOOK)
        zip_file.writestr("__MACOSX/ada/._toy_a.ipynb", "")
    intake = collect(archive, LESSONS)
    assert sorted(intake.notebooks) == [("ada", "toy_a")]
    assert intake.problems == [
        "__MACOSX: macOS metadata: not graded",
        "ada/.ipynb_checkpoints: hidden (its name starts with a dot): not graded",
    ]


def test_fifo_is_listed_and_never_opened(tmp_path):
    hand_in(tmp_path, "ada/toy_a.ipynb")
    (tmp_path / "mallory").mkdir()
    os.mkfifo(tmp_path / "mallory" / "toy_a.ipynb")
    result = []
    # Opening a FIFO waits for a writer forever: run intake where a hang fails the test instead of the run.
    worker = threading.Thread(target=lambda: result.append(collect(tmp_path, LESSONS)), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert result, "collect() hung on a FIFO"
    assert sorted(result[0].notebooks) == [("ada", "toy_a")]
    assert result[0].problems == [
        "mallory/toy_a.ipynb: not a regular file (a FIFO, socket or device): not opened, not graded"
    ]


def test_nested_zip_is_listed_not_opened(tmp_path):
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zip_file:
        zip_file.writestr("toy_a.ipynb", NOTEBOOK)
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.write(inner, "ada/work.zip")
    intake = collect(archive, LESSONS)
    assert intake.notebooks == {}
    assert intake.problems == ["ada/work.zip: a zip inside the submission: not opened, submit the notebook itself"]
    assert intake.problems_of("ada") == intake.problems


def test_oversize_notebook_in_a_folder_is_refused_unread(tmp_path, small_limit, opened):
    hand_in(tmp_path, "ada/toy_a.ipynb", b" " * (small_limit + 1))
    hand_in(tmp_path, "bob/toy_a.ipynb", b" " * small_limit)
    intake = collect(tmp_path, LESSONS)
    assert sorted(intake.notebooks) == [("bob", "toy_a")]
    assert intake.problems == ["ada/toy_a.ipynb: over the 0.000953674 MiB limit for a notebook: not graded"]
    assert opened == ["toy_a.ipynb"]  # bob's only


def test_oversize_zip_entry_is_refused_by_its_declared_size_unopened(tmp_path, small_limit, monkeypatch):
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zip_file:
        zip_file.writestr("ada/toy_a.ipynb", b" " * 100_000)  # compresses to a few hundred bytes
    opened = []
    original = zipfile.ZipFile.open
    monkeypatch.setattr(
        zipfile.ZipFile, "open", lambda self, info, *a, **k: opened.append(info) or original(self, info)
    )
    intake = collect(archive, LESSONS)
    assert intake.notebooks == {}
    assert intake.problems == ["ada/toy_a.ipynb: over the 0.000953674 MiB limit for a notebook: not graded"]
    assert opened == []


def test_zip_entry_larger_than_declared_is_read_only_to_the_limit(tmp_path, small_limit, monkeypatch):
    """A header that understates the size: intake reads limit + 1 bytes at most, and refuses the entry."""
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr("ada/toy_a.ipynb", NOTEBOOK)
    reads = []

    class Unending:
        """What the entry holds, whatever its header says: spaces without end."""

        def __enter__(self):
            return self

        def __exit__(self, *exception):
            return False

        def read(self, size=-1):
            reads.append(size)
            assert size >= 0, "an unbounded read"
            return b" " * size

    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, info, *args, **kwargs: Unending())
    intake = collect(archive, LESSONS)
    assert intake.notebooks == {}
    assert intake.problems == ["ada/toy_a.ipynb: over the 0.000953674 MiB limit for a notebook: not graded"]
    assert reads == [small_limit + 1]


def test_damaged_zip_entry_is_reported(tmp_path):
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr("ada/toy_a.ipynb", NOTEBOOK)
        zip_file.writestr("bob/toy_a.ipynb", NOTEBOOK)
    data = archive.read_bytes()
    # Corrupt bob's stored notebook (the second copy of NOTEBOOK): its CRC no longer matches.
    at = data.index(NOTEBOOK, data.index(NOTEBOOK) + 1)
    archive.write_bytes(data[:at] + b"X" + data[at + 1 :])
    intake = collect(archive, LESSONS)
    assert sorted(intake.notebooks) == [("ada", "toy_a")]
    assert intake.problems == [
        "bob/toy_a.ipynb: cannot be read (BadZipFile: Bad CRC-32 for file 'bob/toy_a.ipynb'): not graded"
    ]


def test_data_file_beside_the_notebook_is_listed_and_never_read(tmp_path, opened):
    hand_in(tmp_path, "ada/toy_a.ipynb")
    hand_in(tmp_path, "ada/data.csv", b"1,2,3\n")
    hand_in(tmp_path, "index.html", b"<html>")
    intake = collect(tmp_path, LESSONS)
    assert sorted(intake.notebooks) == [("ada", "toy_a")]
    assert intake.problems == [
        "ada/data.csv: not a notebook: not graded",
        "index.html: not a notebook, outside any student folder: not graded",
    ]
    assert sorted(intake.students) == ["ada"]  # a loose file is no one's
    assert opened == ["toy_a.ipynb"]


def test_long_student_name_gets_a_bounded_id(tmp_path):
    """No folder name can be that long, so the names come in a zip: one folder, one Canvas file name."""
    folder_name, canvas_name = "a" * 300, "a" * 299 + "b"
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr(f"{folder_name}/toy_a.ipynb", NOTEBOOK)
        zip_file.writestr(f"{canvas_name}_1234_5678_toy_a.ipynb", NOTEBOOK)
    intake = collect(archive, LESSONS)
    ids = {name: student for student, name in intake.original_ids.items()}
    assert sorted(ids) == [folder_name, canvas_name]
    assert [len(ids[folder_name]), len(ids[canvas_name])] == [64, 64]
    assert ids[folder_name][:56] == ids[canvas_name][:56] == "a" * 55 + "-"
    assert ids[folder_name] != ids[canvas_name]
    assert sorted(intake.notebooks) == sorted([(ids[folder_name], "toy_a"), (ids[canvas_name], "toy_a")])
    assert intake.problems == []


def test_names_reducing_to_one_id_stay_two_students(tmp_path):
    hand_in(tmp_path, "Ada_Lovelace/toy_a.ipynb", NOTEBOOK)
    hand_in(tmp_path, "Ada Lovelace/toy_a.ipynb", NOTEBOOK + b" ")
    intake = collect(tmp_path, LESSONS)
    other = intake.problems[0].split(": graded as ")[1].split(":")[0]
    assert other.startswith("Ada_Lovelace-") and len(other) == len("Ada_Lovelace-") + 8
    assert intake.problems == [f"Ada Lovelace: graded as {other}: the id Ada_Lovelace is Ada_Lovelace's"]
    assert intake.notebooks == {("Ada_Lovelace", "toy_a"): NOTEBOOK, (other, "toy_a"): NOTEBOOK + b" "}
    assert intake.original_ids == {other: "Ada Lovelace"}
    assert intake.problems_of(other) == intake.problems
    assert intake.problems_of("Ada_Lovelace") == []


def test_moodle_name_is_kept_as_submitted(tmp_path):
    hand_in(tmp_path, "Zoe\u0301 Mu\u0308ller_77_assignsubmission_file_/toy_a.ipynb")  # as a macOS zip spells it
    intake = collect(tmp_path, LESSONS)
    assert sorted(intake.notebooks) == [("Zoé_Müller_77", "toy_a")]
    assert intake.original_ids == {"Zoé_Müller_77": "Zoe\u0301 Mu\u0308ller_77"}


def test_byte_order_mark_is_accepted():
    notebook = read_notebook(b"\xef\xbb\xbf" + NOTEBOOK)
    assert notebook.cells[0].source == "x = 1"


def test_latin_1_byte_says_what_to_do():
    data = NOTEBOOK.replace(b"x = 1", b"caf\xe9 = 1")
    with pytest.raises(NotebookError) as raised:
        read_notebook(data)
    position = data.index(b"\xe9")
    assert str(raised.value) == (
        f"the file is not UTF-8 text (byte 0xe9 at position {position}): open it in Jupyter and save it again"
    )
    assert isinstance(raised.value, ValueError)


def test_honest_students_beside_hostile_ones_are_taken(tmp_path):
    hand_in(tmp_path, "ada/toy_a.ipynb")
    hand_in(tmp_path, "ada/toy_b/toy_b.ipynb")
    hand_in(tmp_path, "bob/toy_b.ipynb")
    (tmp_path / "mallory").mkdir()
    os.mkfifo(tmp_path / "mallory" / "toy_a.ipynb")
    (tmp_path / "mallory" / "toy_b.ipynb").symlink_to(tmp_path / "ada" / "toy_a.ipynb")
    hand_in(tmp_path, "mallory/big.zip", b"PK")
    intake = collect(tmp_path, LESSONS)
    assert sorted(intake.notebooks) == [("ada", "toy_a"), ("ada", "toy_b"), ("bob", "toy_b")]
    assert intake.origins["ada", "toy_b"] == "ada/toy_b/toy_b.ipynb"
    assert sorted(intake.students) == ["ada", "bob", "mallory"]
    assert len(intake.problems_of("mallory")) == 3
    assert intake.problems_of("ada") == intake.problems_of("bob") == []


def test_grades_csv_has_the_name_as_submitted(tmp_path):
    path = tmp_path / "grades.csv"
    write_csv([Row("Ada_Lovelace_1234", "toy_a", "graded", submitted_as="Ada Lovelace_1234")], path, [])
    with open(path, newline="") as csv_file:
        reader = csv.DictReader(csv_file)
        rows = list(reader)
    assert reader.fieldnames[:3] == ["student", "submitted_as", "lesson"]
    assert (rows[0]["student"], rows[0]["submitted_as"]) == ("Ada_Lovelace_1234", "Ada Lovelace_1234")
