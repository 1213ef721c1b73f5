"""A JupyterLab server and a headless Chromium for the browser tests, isolated from the user's own set-up.

The server runs on a free loopback port with a temporary HOME, settings, workspaces and runtime folder,
so no user setting, open tab or running kernel leaks in and nothing is left behind. Its kernels inherit
COURSE_FAST=1 (the small version of every experiment) and JUPYTER_CONFIG_PATH=autograder, as `make lab` sets
it, so nbgrader's Validate button finds the course's nbgrader_config.py.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from course.lessons import LESSON_NAMES

ROOT = Path(__file__).resolve().parents[2]
LESSONS = list(LESSON_NAMES)
# Screenshots for a person to look at: every view of every lesson, and the page of any failing test.
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / "test-artifacts" / "browser"))

# Chromium flags for a machine with no display, no GPU and a closed network: without the background
# networking flags Chromium keeps trying to reach Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]

# JupyterLab settings: no news prompt or update check for the tests to click away, and every cell kept
# rendered (by default JupyterLab 4 skips rendering cells outside the window, hiding their prompts and outputs).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def chromium_executable():
    """The system Chromium (Debian's package), or None where it is not installed."""
    return shutil.which(os.environ.get("CHROMIUM", "chromium"))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LabServer:
    """`jupyter lab` serving `root_dir`; `url(path)` gives an authenticated address under /lab/tree."""

    def __init__(self, root_dir, scratch, timeout=90):
        self.root_dir = Path(root_dir)
        self.port, self.token = free_port(), secrets.token_hex(16)
        home = Path(scratch)
        settings = home / "lab-settings"
        for name, values in LAB_SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(values))
        env = {
            **os.environ,
            "HOME": str(home),
            "COURSE_FAST": "1",
            "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"),
            "JUPYTER_CONFIG_PATH": str(ROOT / "autograder"),
            "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "lab-workspaces"),
            "IPYTHONDIR": str(home / "ipython"),
        }
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.port_retries=0",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if os.geteuid() == 0:
            command.append("--allow-root")
        self.log = open(home / "jupyterlab.log", "w")
        self.process = subprocess.Popen(
            command, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._wait_until_up(timeout)

    def _wait_until_up(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/status?token={self.token}", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"JupyterLab did not answer within {timeout} s; see {self.log.name}")

    def url(self, path):
        """The notebook at `path` alone in a fresh workspace (`reset`: no tabs left over from earlier tests)."""
        return f"http://127.0.0.1:{self.port}/lab/tree/{path}?reset&token={self.token}"

    def shut_down_kernels(self):
        """End every notebook session, so one test's kernel does not run on beside the next test's."""
        for session in self._api("GET", "sessions"):
            self._api("DELETE", f"sessions/{session['id']}")

    def _api(self, method, path):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()  # the server shuts its kernels down on SIGTERM
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self.log.close()
