"""What a student feels: from an arrow key on a slider to the new picture in the browser, per view.

Usage: python benchmarks/bench_browser_latency.py [--presses N] [--lessons 01_momentum ...]
Each lesson, with its exercises answered, runs in JupyterLab under headless Chromium (as tests/browser do);
then every slider of every view gets N single arrow-key steps, alternately right and left, one after the
other has been drawn. A step's latency runs from the key press to the moment the view's image element shows
new bytes: kernel recompute and redraw, the PNG's trip over the websocket, and the browser's decode. Prints the
median and worst per view and their ratio to the 0.2 s budget; `bench_widgets.py` measures the kernel's part alone.
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "browser")]
from fixtures.courses import fill_in  # noqa: E402
from lab_server import CHROMIUM_ARGS, LabServer, chromium_executable  # noqa: E402
from notebook_page import NotebookPage  # noqa: E402

BUDGET_S = 0.2
LESSONS = [
    "00_landscape",
    "01_momentum",
    "02_adaptive",
    "03_batch_norm",
    "04_lr_schedules",
    "05_gradient_clipping",
    "06_normalization_regularization",
    "07_init_residual",
]

# A promise (wrapped, so that starting it does not wait for it) of the milliseconds from now until the image's
# src next changes (a new picture was attached), or null after 3 s without one.
NEXT_PICTURE_JS = """(image) => ({picture: new Promise((resolve) => {
    const start = performance.now();
    const observer = new MutationObserver(() => { observer.disconnect(); resolve(performance.now() - start); });
    observer.observe(image, {attributes: true, attributeFilter: ["src"]});
    setTimeout(() => { observer.disconnect(); resolve(null); }, 3000);
})})"""


def step_latencies(view, slider, presses):
    """Seconds from each arrow key to the new picture, alternating directions so the slider stays put.

    A step too small to change a pixel brings no new picture (the kernel sends none for identical bytes):
    it is left out of the figures and counted as None.
    """
    latencies = []
    keys = ("ArrowRight", "ArrowLeft") if view.room_to_the_right(slider) else ("ArrowLeft", "ArrowRight")
    image = view.image.element_handle()
    for index in range(presses):
        waiting = view.page.evaluate_handle(NEXT_PICTURE_JS, image)
        view.press(slider, keys[index % 2])
        milliseconds = waiting.evaluate("(waiting) => waiting.picture")
        latencies.append(None if milliseconds is None else milliseconds / 1000)
        view.settled()
    return latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=10, help="arrow-key steps per slider")
    parser.add_argument("--lessons", nargs="+", default=LESSONS)
    args = parser.parse_args()
    if chromium_executable() is None:
        sys.exit("Chromium is not installed (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        course, home = Path(scratch) / "course", Path(scratch) / "home"
        for lesson in args.lessons:
            (course / lesson).mkdir(parents=True)
            nbformat.write(
                fill_in(
                    nbformat.read(ROOT / "lessons" / lesson / f"{lesson}.ipynb", as_version=4),
                    nbformat.read(ROOT / "solutions" / lesson / f"{lesson}.ipynb", as_version=4),
                ),
                course / lesson / f"{lesson}.ipynb",
            )
        home.mkdir()
        lab = LabServer(course, home)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                print(
                    f"{'view':40} {'steps':>6} {'unchanged':>10} {'median ms':>10} {'worst ms':>10} "
                    f"{'median/budget':>14} {'worst/budget':>13}"
                )
                for lesson in args.lessons:
                    notebook = NotebookPage(page, lab, f"{lesson}/{lesson}.ipynb")
                    notebook.open()
                    assert notebook.run_all() == [], f"{lesson} raised"
                    for index, view in enumerate(notebook.views()):
                        steps = [
                            latency
                            for slider in view.sliders()
                            for latency in step_latencies(view, slider, args.presses)
                        ]
                        times = [latency for latency in steps if latency is not None]
                        median, worst = statistics.median(times), max(times)
                        print(
                            f"{lesson + ' view ' + str(index):40} {len(steps):6} {len(steps) - len(times):10} "
                            f"{median * 1e3:10.1f} {worst * 1e3:10.1f} {median / BUDGET_S:14.2f} "
                            f"{worst / BUDGET_S:13.2f}",
                            flush=True,
                        )
                    lab.shut_down_kernels()
                browser.close()
        finally:
            lab.stop()


if __name__ == "__main__":
    main()
