"""The GPU check's own machinery: which wheels travel to the GPU machine, and how parts are run, skipped and
recorded. The check itself runs in CI through benchmarks/gpu_check/dry_run.sh (.ci/run), in its CPU mode."""

import json
import sys
from pathlib import Path

import pytest
import torch
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks" / "gpu_check"))

import check  # noqa: E402
import wheels  # noqa: E402


@pytest.fixture(scope="module")
def split():
    return wheels.split("3.12")


def test_the_notebook_runner_and_a_kernel_travel_and_what_the_machine_has_does_not(split):
    carried, present = split
    assert {"nbclient", "nbformat", "ipykernel", "jupyter-client", "pyzmq", "ipywidgets"} <= set(carried)
    assert {"torch", "numpy", "matplotlib", "tqdm"} <= set(present)
    assert not set(carried) & wheels.machine_packages()
    assert all(version and "+" not in version for version in {**carried, **present}.values())


def test_requirements_follow_the_target_pythons_markers():
    requirement = Requirement('backport; python_version < "3.12"')
    assert requirement.marker.evaluate(wheels.marker_environment("3.11"))
    assert not requirement.marker.evaluate(wheels.marker_environment("3.12"))


def test_a_requirement_not_installed_here_is_named():
    with pytest.raises(SystemExit, match="no-such-package is needed on Python 3.12 but not installed here"):
        wheels.closure(["no-such-package"], "3.12")


def toy_check(tmp_path, budget=100):
    return check.Check(torch.device("cpu"), check.CPU_SIZES, budget, tmp_path)


def test_a_broken_part_is_recorded_and_the_next_still_runs(tmp_path):
    run = toy_check(tmp_path)

    def broken(_):
        raise RuntimeError("no kernel")

    run.run("broken", broken, 1)
    run.run("fine", lambda _: ("passed", {"figure": 3}), 1)
    parts = json.loads((tmp_path / "gpu_check.json").read_text())["parts"]
    assert parts["broken"]["status"] == "error" and parts["broken"]["error"] == "RuntimeError: no kernel"
    assert parts["fine"]["status"] == "passed" and parts["fine"]["figure"] == 3


def test_a_part_that_no_longer_fits_the_budget_is_skipped_with_the_reason(tmp_path):
    ran = []
    run = toy_check(tmp_path, budget=10)
    outcome = run.run("long", lambda _: ran.append(1) or ("passed", {}), 60)
    assert not ran and outcome["status"] == "skipped" and "needs about 60 s" in outcome["reason"]


def test_the_report_lists_every_part_and_the_throughput_figures():
    figures = {
        "status": "passed",
        "seconds": 2.0,
        "images_per_second": 1000.0,
        "baseline_images_per_second": 250.0,
        "speedup_over_baseline": 4.0,
        "seconds_per_cifar10_epoch": 50.0,
        "achieved_tflops": 0.5,
        "of_matmul_peak": None,
        "warm_up_seconds": 1.5,
        "peak_memory_gib": None,
    }
    results = {"parts": {"peak": {"status": "n/a", "seconds": 0}, "throughput resnet56": figures}}
    lines = check.report(results).splitlines()
    assert lines[1].split() == ["peak", "n/a", "0.0"]
    assert ["resnet56", "1000", "250", "4.00", "50.000", "0.50", "-", "1.5", "0.00"] in [line.split() for line in lines]


def test_every_lever_is_named_once():
    names = [name for name, *_ in check.LEVERS]
    assert len(names) == len(set(names))
