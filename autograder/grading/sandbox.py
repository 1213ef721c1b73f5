"""The kernel that runs a student's notebook during grading, with limits.

nbgrader starts kernels through a kernelspec; `install_kernelspec` writes one, "autograder-sandbox",
whose command is `python -m autograder.grading.sandbox {connection_file}`. That launcher

- applies resource limits inherited by the kernel: address space (RLIMIT_AS, a memory bomb gets a
  MemoryError), CPU seconds (RLIMIT_CPU, a loop in compiled code is killed), file size (RLIMIT_FSIZE);
- when Linux lets an unprivileged user create namespaces (`unshare --user --net --mount` from
  util-linux), runs the kernel in a new network namespace, which has no interface but a downed
  loopback, so no traffic leaves it, and a new mount namespace where the grader's private folders
  (hidden tests, other students' notebooks, gradebooks) are covered by empty tmpfs mounts.
  The kernel talks to nbgrader over Unix sockets (KernelManager.transport = "ipc"), which cross
  network namespaces. Where namespaces are unavailable (a container without user namespaces) the
  limits still apply and `isolation()` says what is missing, for the grader to warn;
- points HOME and TMPDIR at a scratch folder, so a kernel's files land in its own run folder;
- records how the kernel ended (its exit code, negative for a signal) in a JSON file, read back as a
  `KernelExit` for the grader to say "kernel died" or "timed out" with the reason, and installs
  autograder/grading/kernel_guard.py (the integrity guard) in the kernel.

Settings reach the launcher through one environment variable, AUTOGRADER_SANDBOX (JSON), set by the
grader on each nbgrader process and inherited by its kernel.
"""

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

KERNEL_NAME = "autograder-sandbox"
GUARD_MODULE = "autograder.grading.kernel_guard"
# "autograder.grading.sandbox", also when run with -m: the kernelspec and the launcher start this module again.
THIS_MODULE = __spec__.name
SETTINGS_VARIABLE = "AUTOGRADER_SANDBOX"
NAMESPACES = ["unshare", "--user", "--map-root-user", "--net", "--mount"]


@dataclass
class Limits:
    """What one student's kernel may use; 0 means no limit."""

    memory_mb: int = 4096
    cpu_seconds: int = 600
    file_mb: int = 100


@dataclass
class KernelSettings:
    """Per submission: its limits, where to record the kernel's end, what to hide, the scratch folder."""

    limits: Limits
    exit_report: str
    guard_report: str
    scratch: str
    hidden: list = field(default_factory=list)

    def environment(self):
        return {SETTINGS_VARIABLE: json.dumps({**asdict(self), "limits": asdict(self.limits)})}


@lru_cache(maxsize=1)
def isolation():
    """(True, "") when namespaces can be created here, else (False, why not)."""
    if shutil.which("unshare") is None:
        return False, "the unshare command (util-linux) is not installed"
    result = subprocess.run([*NAMESPACES, "true"], capture_output=True, text=True)
    if result.returncode != 0:
        why = result.stderr.strip() or result.returncode
        return False, f"unshare failed ({why}): user namespaces are disabled here"
    return True, ""


def install_kernelspec(jupyter_path):
    """Write the sandbox kernelspec under `jupyter_path`/kernels; put `jupyter_path` on JUPYTER_PATH to use it."""
    folder = Path(jupyter_path) / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", THIS_MODULE, "{connection_file}"],
        "display_name": "Python 3 (autograder sandbox)",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))


def _apply_limits(limits):
    import resource

    for name, value in [
        ("RLIMIT_AS", limits.memory_mb << 20),
        ("RLIMIT_CPU", limits.cpu_seconds),
        ("RLIMIT_FSIZE", limits.file_mb << 20),
    ]:
        if value:
            resource.setrlimit(getattr(resource, name), (value, value))
    # The kernel must not outlive this launcher (killed with nbgrader after the wall-clock limit).
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def launch(connection_file):
    """The launcher: start the kernel with its limits, wait for it, record how it ended."""
    settings = json.loads(os.environ[SETTINGS_VARIABLE])
    limits = Limits(**settings["limits"])
    scratch = Path(settings["scratch"])
    scratch.mkdir(parents=True, exist_ok=True)
    inner = [sys.executable, "-m", THIS_MODULE, "--inside", connection_file]
    command = [*NAMESPACES, "--", *inner] if isolation()[0] else inner
    environment = {**os.environ, "HOME": str(scratch), "TMPDIR": str(scratch), "MPLCONFIGDIR": str(scratch)}
    # Jupyter interrupts a kernel by signalling its process group, this launcher included: only the kernel reacts.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    kernel = subprocess.Popen(command, env=environment, preexec_fn=lambda: _apply_limits(limits))
    returncode = kernel.wait()
    Path(settings["exit_report"]).write_text(json.dumps(asdict(KernelExit(returncode))))
    return 0 if returncode == 0 else 1


@dataclass(frozen=True)
class KernelExit:
    """How a kernel process ended, as its launcher recorded it."""

    returncode: int  # the exit code, or minus the number of the signal that killed it

    @classmethod
    def read(cls, path):
        """The record the launcher wrote at `path`, or None when it wrote none (killed with the kernel, say)."""
        return cls(**json.loads(Path(path).read_text())) if Path(path).is_file() else None

    @property
    def signal(self):
        """The signal that killed the kernel (signal.SIGSEGV, say), or None when it exited."""
        return signal.Signals(-self.returncode) if self.returncode < 0 else None

    def describe(self, limits):
        """Why the kernel ended, in words: 'exit code 1', 'killed by SIGSEGV', or the limit it hit."""
        if self.signal is None:
            return f"exit code {self.returncode}"
        if self.signal == signal.SIGXCPU:
            return f"killed by SIGXCPU: it used its {limits.cpu_seconds} s of CPU time"
        return f"killed by {self.signal.name}"


def enter(connection_file):
    """Inside the namespaces (when there are any): hide the private folders, then become the kernel."""
    settings = json.loads(os.environ[SETTINGS_VARIABLE])
    if isolation()[0]:
        _hide(settings["hidden"], Path.cwd())
    # __import__ rather than an import statement: exec_lines run in the notebook's namespace, which must stay clean.
    guard = f"__import__({GUARD_MODULE!r}, fromlist=['install']).install({settings['guard_report']!r})"
    os.execv(
        sys.executable,
        [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file, f"--IPKernelApp.exec_lines={guard}"],
    )


def _hide(paths, workdir):
    """Cover each existing path with an empty tmpfs (a file with /dev/null), keeping `workdir` visible.

    `workdir` (the notebook's folder) may lie inside a hidden folder: it is opened first and bound
    back afterwards through /proc/self/fd, so the kernel sees its own folder and nothing beside it.
    """
    kept = os.open(workdir, os.O_PATH | os.O_DIRECTORY)
    for path in paths:
        if os.path.isdir(path):
            _mount("-t", "tmpfs", "tmpfs", path)
        elif os.path.isfile(path):
            _mount("--bind", "/dev/null", path)
    if not os.path.isdir(workdir):
        os.makedirs(workdir)
        _mount("--bind", f"/proc/self/fd/{kept}", str(workdir), pass_fds=(kept,))
    os.chdir(workdir)
    os.close(kept)


def _mount(*arguments, pass_fds=()):
    subprocess.run(["mount", *arguments], check=True, pass_fds=pass_fds)


if __name__ == "__main__":
    if sys.argv[1] == "--inside":
        enter(sys.argv[2])
    else:
        sys.exit(launch(sys.argv[1]))
