"""Fixtures for the browser tests: a JupyterLab serving the course as students get it, and Chromium driving it.

They need Debian's Chromium (`.ci/run` installs it). Where it is missing the tests are skipped with the reason,
unless OPTDEEP_REQUIRE_BROWSER=1 (CI sets it), which turns the skip into a failure.
"""

import os

import nbformat
import pytest

from fixtures.courses import fill_in
from lab_server import ARTIFACTS, CHROMIUM_ARGS, LESSONS, ROOT, LabServer, chromium_executable


@pytest.fixture(scope="session")
def chromium():
    executable = chromium_executable()
    if executable is None:
        reason = "Chromium is not installed (Debian: apt-get install chromium; .ci/run does it)"
        if os.environ.get("OPTDEEP_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return executable


@pytest.fixture(scope="session")
def course(tmp_path_factory):
    """A folder as a student's: answered/<lesson>/ with every exercise done, unanswered/<lesson>/ as released."""
    root = tmp_path_factory.mktemp("student")
    for lesson in LESSONS:
        released = nbformat.read(ROOT / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
        solution = nbformat.read(ROOT / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
        for folder, notebook in (("answered", fill_in(released, solution)), ("unanswered", released)):
            (root / folder / lesson).mkdir(parents=True)
            nbformat.write(notebook, root / folder / lesson / f"{lesson}.ipynb")
    return root


@pytest.fixture(scope="session")
def lab(course, tmp_path_factory):
    server = LabServer(course, tmp_path_factory.mktemp("lab-home"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, lab, request):
    """A fresh browser tab; on failure a screenshot of it is kept under test-artifacts/browser/."""
    failure_screenshot = ARTIFACTS / f"FAILED-{request.node.name}.png"
    failure_screenshot.unlink(missing_ok=True)  # from an earlier run
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    if getattr(request.node, "failed", False):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=failure_screenshot, full_page=True)
    context.close()
    lab.shut_down_kernels()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.failed = True
    return report
