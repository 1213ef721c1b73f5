"""Recorded full-size runs: what lessons quote, how they are made, and the check that prose and record agree.

    make reference-runs                       # every lesson that records runs: results/NN_topic.json
    python -m course.results 01_momentum      # one lesson; --jobs N runs N trainings at a time

A lesson's experiment is written once, in course/experiments/, as plain code that hands its training runs to
`run_all`: the notebook runs it at its own size with the student's code, `python -m course.results` at full size
with the reference, saving each finished run in the user's cache folder so that an interrupted recording resumes
where it stopped. The record (results/<lesson>.json) holds the settings, the seeds, every run's numbers, the
versions and the date.

Prose quotes a recorded number with a marker right after it, which renders as nothing:

    heavy-ball reached 0.712 ± 0.004<!-- quote: chosen/heavy-ball/test_accuracy --> test accuracy

The path walks the record's "results"; a summary ({"mean", "std", ...}) is quoted as "mean ± std", a number as
itself, each at the precision the prose shows. tests/test_results.py holds every quote to its record.
"""

import argparse
import hashlib
import importlib
import json
import math
import platform
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import date
from functools import partial
from importlib import metadata

import numpy as np

from course.data import cache_dir
from course.lessons import LESSONS, REPO_ROOT

RESULTS_DIR = REPO_ROOT / "results"
QUOTE = re.compile(
    r"(?P<mean>[-+]?\d+(?:\.\d+)?)(?:\s*±\s*(?P<std>\d+(?:\.\d+)?))?\s*<!--\s*quote:\s*(?P<path>[^\s>]+)\s*-->"
)


# --- numbers over seeds ---------------------------------------------------------------------------------------


def summarize(values):
    """``{"mean", "std", "values"}`` of one number over seeds (std with Bessel's correction; None if not finite)."""
    values = [_finite_or_none(value) for value in values]
    finite = [value for value in values if value is not None]
    complete = len(finite) == len(values) and len(values) > 1
    return {
        "mean": float(np.mean(finite)) if complete else None,
        "std": float(np.std(finite, ddof=1)) if complete else None,
        "values": values,
    }


def compare(a, b, level=0.05):
    """How two summaries differ: ``{"difference", "p_value", "within_noise"}``, b's mean minus a's.

    Welch's t-test (unequal variances) on the per-seed values: a difference is within the seed-to-seed noise
    when the test does not reject equal means at `level`. With three to five seeds only a large, steady gap is not.
    """
    from scipy import stats

    p_value = float(stats.ttest_ind(a["values"], b["values"], equal_var=False).pvalue)
    return {"difference": b["mean"] - a["mean"], "p_value": p_value, "within_noise": p_value >= level}


def mean_std(summary, digits=3):
    """'0.712 ± 0.004': how lessons print a summary."""
    if summary["mean"] is None:
        return "diverged"
    return f"{summary['mean']:.{digits}f} ± {summary['std']:.{digits}f}"


def _finite_or_none(value):
    return float(value) if value is not None and math.isfinite(value) else None


def json_safe(value):
    """`value` with every NaN or infinity replaced by None, so that the record is standard JSON."""
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, float):
        return _finite_or_none(value)
    return value


# --- running an experiment's trainings ------------------------------------------------------------------------


def run_all(train, settings_list, cache=None, jobs=1, progress=None):
    """``[train(settings) for settings in settings_list]``: each settings a JSON-able dict, each result one too.

    With `cache` (a folder), a run whose settings were saved there before is read back instead of trained, and
    each finished run is saved at once, so an interrupted recording resumes. `jobs` > 1 trains that many at a
    time in worker processes (`train` must then be picklable: a module-level function or a partial of one).
    `progress` (a tqdm bar) grows by the runs asked for and advances as each one is done.
    """
    paths = [cache / f"{_digest(settings)}.json" for settings in settings_list] if cache is not None else []
    results = [json.loads(path.read_text())["result"] if path.is_file() else None for path in paths]
    results += [None] * (len(settings_list) - len(results))
    todo = [index for index, result in enumerate(results) if result is None]
    if progress is not None:
        progress.total = (progress.total or 0) + len(settings_list)
        progress.update(len(settings_list) - len(todo))

    def done(index, result):
        # As a cached run reads back (NaN as None), so that a resumed recording computes what a fresh one does.
        results[index] = json_safe(result)
        if cache is not None:
            cache.mkdir(parents=True, exist_ok=True)
            paths[index].write_text(json.dumps({"settings": settings_list[index], "result": results[index]}))
        if progress is not None:
            progress.update(1)

    if jobs > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for index, result in zip(todo, pool.map(train, [settings_list[index] for index in todo])):
                done(index, result)
    else:
        for index in todo:
            done(index, train(settings_list[index]))
    return results


def run_groups(run_all, train, groups):
    """``{key: [train(settings) for settings in group]}`` for ``groups = {key: [settings, ...]}``, all in one call
    of `run_all` (so that its workers stay busy and its cache serves every group)."""
    flat = iter(run_all(train, [settings for group in groups.values() for settings in group]))
    return {key: [next(flat) for _ in group] for key, group in groups.items()}


def every_run(groups, done):
    """The record's "runs": each run's settings beside its result, group by group (`done` as run_groups gives)."""
    return [
        {"settings": settings, "result": result}
        for key, group in groups.items()
        for settings, result in zip(group, done[key])
    ]


@contextmanager
def one_thread():
    """Torch on one thread inside the block, whatever its setting outside: a run then gives the same numbers in a
    notebook, a test and a recording with several workers."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _digest(settings):
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:24]


# --- the records ----------------------------------------------------------------------------------------------


def record_path(lesson):
    return RESULTS_DIR / f"{lesson}.json"


def recorded(lesson):
    """The record of `lesson`'s full-size run: ``{"lesson", "command", "date", "versions", "settings", "results"}``."""
    return json.loads(record_path(lesson).read_text())


def lookup(record, path):
    """The value at `path` ("chosen/heavy-ball/test_accuracy") in the record's results."""
    value = record["results"]
    for key in path.split("/"):
        if not isinstance(value, dict) or key not in value:
            raise KeyError(f"the record has no {path!r} (no {key!r} there)")
        value = value[key]
    return value


def quote_problems(markdown, record):
    """What is wrong with each quote in `markdown` against `record`, one sentence each (an empty list: all agree)."""
    problems = []
    for quote in QUOTE.finditer(markdown):
        shown, path = quote.group(0).split("<!--")[0].strip(), quote.group("path")
        try:
            value = lookup(record, path)
        except KeyError as error:
            problems.append(f"{shown} quotes {error.args[0]}")
            continue
        if isinstance(value, dict):
            if quote.group("std") is None:
                problems.append(f"{shown} quotes the summary {path}: write it as mean ± std")
                continue
            expected = [(quote.group("mean"), value["mean"]), (quote.group("std"), value["std"])]
        else:
            if quote.group("std") is not None:
                problems.append(f"{shown} quotes {path}, a single number, with a ±")
                continue
            expected = [(quote.group("mean"), value)]
        for text, number in expected:
            if number is None or text != _at_precision_of(text, number):
                problems.append(f"{shown} quotes {path}: the record says {_at_precision_of(text, number)}")
                break
    return problems


def _at_precision_of(text, number):
    """`number` written with as many decimals as `text` has."""
    if number is None:
        return "nothing (the run diverged)"
    decimals = len(text.split(".")[1]) if "." in text else 0
    return f"{number:.{decimals}f}"


def versions():
    found = {"python": platform.python_version()}
    for package in ("torch", "numpy", "mnist1d"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


# --- the command ----------------------------------------------------------------------------------------------


def recording_lessons():
    """The lessons whose experiment module (course/experiments/) defines `reference_runs`, in course order."""
    return [lesson for lesson in LESSONS if lesson.experiment]


def record(lesson, jobs=1, fresh=False):
    """Run `lesson`'s full-size experiment (resuming from the cache unless `fresh`) and write its record."""
    from tqdm import tqdm

    experiment = importlib.import_module(f"course.experiments.{lesson.experiment}")
    cache = cache_dir() / "reference-runs" / lesson.name
    if fresh:
        for path in cache.glob("*.json"):
            path.unlink()
    with tqdm(desc=lesson.name, unit="run", total=0) as progress:
        outcome = experiment.reference_runs(partial(run_all, cache=cache, jobs=jobs, progress=progress))
    RESULTS_DIR.mkdir(exist_ok=True)
    payload = {
        "lesson": lesson.name,
        "command": f"python -m course.results {lesson.name}",
        "date": date.today().isoformat(),
        "versions": versions(),
        **outcome,
    }
    record_path(lesson.name).write_text(json.dumps(json_safe(payload), indent=1) + "\n")
    return record_path(lesson.name)


def main(argv=None):
    lessons = {lesson.name: lesson for lesson in recording_lessons()}
    parser = argparse.ArgumentParser(prog="python -m course.results", description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", metavar="LESSON", help=f"default: all of {', '.join(lessons)}")
    parser.add_argument("--jobs", type=int, default=2, help="trainings at a time (default: %(default)s)")
    parser.add_argument("--fresh", action="store_true", help="forget the cached runs and train everything again")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.lessons) - set(lessons))
    if unknown:
        parser.error(f"no recorded experiment for {', '.join(unknown)} (lessons that record: {', '.join(lessons)})")
    for name in args.lessons or lessons:
        print(f"recorded {record(lessons[name], jobs=args.jobs, fresh=args.fresh).relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
