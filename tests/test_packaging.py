"""environment.yml (conda / Binder) and pyproject.toml (pip) must ask for the same packages and bounds."""

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

# conda-forge package name -> PyPI distribution name, where the two differ.
CONDA_TO_PYPI = {
    "pytorch": "torch",  # conda-forge packages PyTorch as "pytorch"; on PyPI it is "torch"
}
# Conda entries that are the environment's tooling, not the course's dependencies.
CONDA_TOOLING = {"python", "pip"}


def read_pyproject_tables(text):
    """`{table: {key: value}}` for the string and string-array values of a pyproject.toml.

    A tiny reader, because Python 3.10 has no tomllib: it understands `[table]` headers, whole-line
    `#` comments and `key = "string"` or `key = ["a", "b",]` (which may span lines) -- all this
    project's pyproject uses for the values the tests read. Checked against tomllib where it exists.
    """
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    parts = re.split(r"^\[([^\]]+)\][ \t]*$", text, flags=re.MULTILINE)
    tables = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        values = re.findall(r'^([\w.-]+)\s*=\s*("[^"\n]*"|\[[^\]]*\])', body, flags=re.MULTILINE)
        tables[name.strip()] = {key: ast.literal_eval(value) for key, value in values}
    return tables


def split_requirement(spec):
    """`"Name>=1,<2"` or `"name >=1, <2"` -> `("name", frozenset({">=1", "<2"}))`, names as in PEP 503."""
    match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)", spec)
    assert match, f"cannot read the requirement {spec!r}"
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    clauses = frozenset(c.replace(" ", "") for c in match.group(2).split(",") if c.strip())
    return name, clauses


def lower_bound(clauses):
    """The version tuple of the single `>=` clause, e.g. `{">=2.4"}` -> `(2, 4)`."""
    (bound,) = [c[2:] for c in clauses if c.startswith(">=")]
    return tuple(int(part) for part in bound.split("."))


@pytest.fixture(scope="module")
def pyproject():
    return read_pyproject_tables((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


@pytest.fixture(scope="module")
def pyproject_requirements(pyproject):
    project = pyproject["project"]
    specs = project["dependencies"] + pyproject["project.optional-dependencies"]["dev"]
    return dict(split_requirement(spec) for spec in specs)


def conda_and_pip_entries(environment):
    conda = [entry for entry in environment["dependencies"] if isinstance(entry, str)]
    pip_sections = [entry["pip"] for entry in environment["dependencies"] if isinstance(entry, dict)]
    assert len(pip_sections) == 1, "environment.yml should have exactly one pip: section"
    return conda, pip_sections[0]


def test_tiny_pyproject_reader_agrees_with_tomllib(pyproject):
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    parsed = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == parsed["project"]["requires-python"]
    assert pyproject["project"]["dependencies"] == parsed["project"]["dependencies"]
    assert pyproject["project.optional-dependencies"] == parsed["project"]["optional-dependencies"]


def test_environment_is_named_and_uses_conda_forge_only(environment):
    assert environment["name"] == "optimization-deep"
    assert environment["channels"] == ["conda-forge"]


def test_environment_lists_the_same_packages_and_bounds_as_pyproject(environment, pyproject_requirements):
    conda, pip = conda_and_pip_entries(environment)
    listed = {}
    for spec in conda + [entry for entry in pip if not entry.startswith("-")]:
        name, clauses = split_requirement(spec)
        if name in CONDA_TOOLING:
            continue
        name = CONDA_TO_PYPI.get(name, name)
        assert name not in listed, f"{name} is listed twice in environment.yml"
        listed[name] = clauses
    assert listed == pyproject_requirements


def test_environment_installs_the_repository_itself(environment):
    _, pip = conda_and_pip_entries(environment)
    assert any(re.fullmatch(r"-e\s+\.(\[[\w,]+\])?", entry) for entry in pip), pip


def test_environment_python_matches_requires_python(environment, pyproject):
    conda, _ = conda_and_pip_entries(environment)
    pythons = [split_requirement(spec)[1] for spec in conda if split_requirement(spec)[0] == "python"]
    assert pythons == [split_requirement("python" + pyproject["project"]["requires-python"])[1]]


def test_requires_python_admits_3_10_and_the_running_interpreter(pyproject):
    _, clauses = split_requirement("python" + pyproject["project"]["requires-python"])
    assert lower_bound(clauses) == (3, 10)
    assert all(c.startswith(">=") for c in clauses), f"no upper bound on Python expected, got {clauses}"
    assert sys.version_info[:2] >= lower_bound(clauses)


def test_torch_lower_bound_is_at_least_2_4(pyproject_requirements):
    assert lower_bound(pyproject_requirements["torch"]) >= (2, 4)


def read_constraints():
    """`{name: version}` of constraints.txt's `name==version` lines, names as in PEP 503."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


def test_constraints_pin_every_dependency_inside_pyprojects_bounds(pyproject_requirements):
    from packaging.specifiers import SpecifierSet

    pins = read_constraints()
    for name, clauses in pyproject_requirements.items():
        if name == "torch":
            continue  # pinned by the Makefile's TORCH_SPEC, so that a machine's own CUDA build can be reused
        assert name in pins, f"constraints.txt pins no version of {name}: run `make constraints`"
        assert pins[name] in SpecifierSet(",".join(clauses)), (
            f"constraints.txt pins {name}=={pins[name]} outside {clauses}"
        )


def test_constraints_leave_torch_to_the_makefile():
    assert "torch" not in read_constraints()
    assert re.search(r"^TORCH_SPEC \?= torch==\d", (ROOT / "Makefile").read_text(), flags=re.MULTILINE)
