"""The sandbox a student's kernel runs in during grading, built on bubblewrap (`bwrap`, what Flatpak uses).

nbgrader starts kernels through a kernelspec; `install_kernelspec` writes one, "autograder-sandbox", whose
command is `python -m autograder.grading.sandbox {connection_file}`. That launcher is the grader's code, run
outside the sandbox; it starts the kernel inside one and records how the kernel ended.

What the kernel gets (the threat model is in README's instructor path):
- its own user: when the grader runs as root, the kernel runs as a fresh unprivileged uid,
  FIRST_KERNEL_UID + the launcher's pid (unique among running kernels), which owns nothing outside; as an
  ordinary user, bwrap's user namespace maps the kernel onto the grader's uid, and only the mounts below keep
  it from the grader's files;
- no capabilities and no_new_privs (setpriv drops them as root, bwrap otherwise): its mounts cannot be undone, a
  setuid program gives it nothing; a user namespace it makes (possible as root; bwrap's --disable-userns forbids
  it otherwise) gives it power over nothing but itself, with the mounts it inherits locked;
- its own PID, mount, IPC, network (a loopback of its own: no traffic leaves it) and UTS namespaces: it sees no
  other process, so it can neither signal the grader or a classmate's kernel nor read their environments;
  when the kernel exits or its launcher is killed, the whole PID namespace is killed, daemons included;
- a file system of its own: the system's /usr and /etc, the Python installation, the virtual environment and
  the course's packages (autograder, reference_impl, course, capstone) and results/, all read-only; a tmpfs of
  `Limits.disk_mb` as /tmp, which holds its HOME and working folder (/tmp/work); and the channel, a folder
  of its own through which nbgrader reaches it (the kernel's Unix sockets, its connection file, the guard's
  report, the checks' evidence that autograder/grading/judge.py reads once the kernel is dead). Nothing else:
  not the grader's home, solutions/, the submissions, the output folder (gradebooks, other students' notebooks,
  results, feedback) or the course folder's settings and kernelspecs;
- no environment from the grader: only PATH, HOME, TMPDIR, MPLCONFIGDIR, LANG, COURSE_FAST and
  AUTOGRADER_EVIDENCE (the evidence file);
- resource limits: address space (RLIMIT_AS, memory_mb less the tmpfs, which is RAM too: a memory bomb gets
  a MemoryError), CPU seconds (RLIMIT_CPU: a loop in compiled code is killed with SIGXCPU), file size
  (RLIMIT_FSIZE) and, under its own uid, processes (RLIMIT_NPROC: a fork bomb stops);
- what it writes to its own stdout and stderr is passed on to nbgrader's log up to LOG_LIMIT bytes.

The launcher then records how the kernel ended (its exit code, negative for a signal) in a JSON file the
kernel cannot reach, read back as a `KernelExit` for the grader to say "kernel died" or "timed out" with the
reason (bwrap reports a kernel killed by signal N as exit code 128 + N, read back as that signal). The kernel
starts with autograder/grading/kernel_guard.py installed.

Where bwrap is missing or cannot create its namespaces, `isolation()` says why and the grader refuses to run
student code, unless the instructor passes --unsafe-no-sandbox: then the kernel runs with the limits alone
(`KernelSettings.sandboxed` False), as the grader's user, able to read and write what the grader can.

Settings reach the launcher through one environment variable, AUTOGRADER_SANDBOX (JSON), set by the grader
on each nbgrader process; the kernel does not inherit it.
"""

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

KERNEL_NAME = "autograder-sandbox"
GUARD_MODULE = "autograder.grading.kernel_guard"
# "autograder.grading.sandbox", also when run with -m: the kernelspec starts this module again.
THIS_MODULE = __spec__.name
SETTINGS_VARIABLE = "AUTOGRADER_SANDBOX"
# The kernel's variable naming its evidence file, where the checks write what they compared.
EVIDENCE_VARIABLE = "AUTOGRADER_EVIDENCE"
# Kernels run as FIRST_KERNEL_UID + the launcher's pid (pids are below 2**22), far above the uids of people.
FIRST_KERNEL_UID = 200_000
# The course's packages the kernel imports, and the recorded results lessons quote: read-only in the sandbox.
REPOSITORY = Path(__file__).resolve().parents[2]
COURSE_PATHS = [REPOSITORY / name for name in ("autograder", "reference_impl", "course", "capstone", "results")]
SCRATCH = "/tmp"  # the kernel's tmpfs: HOME is SCRATCH/home, the working folder SCRATCH/work
LOG_LIMIT = 64 << 10  # bytes of the kernel's own stdout and stderr kept in nbgrader's log
GUARD_REPORT = "guard-report"  # in the channel
EVIDENCE = "evidence"  # in the channel: what the checks compared (autograder/checks/evidence.py)


@dataclass
class Limits:
    """What one student's kernel may use; 0 means no limit (processes: only under a uid of its own)."""

    memory_mb: int = 4096  # address space plus the tmpfs: all the RAM it can hold
    cpu_seconds: int = 600
    file_mb: int = 100  # the largest file it may write
    disk_mb: int = 256  # its tmpfs (HOME, working folder, TMPDIR): all it can write
    processes: int = 256  # threads count: torch starts one per core


@dataclass
class KernelSettings:
    """Per submission: its limits, where the launcher records the kernel's end, the channel, the sandbox or not."""

    limits: Limits
    exit_report: str  # a file in the grader's run folder, out of the kernel's reach
    channel: str  # the folder shared with the kernel (see the module's docstring)
    sandboxed: bool = True  # False: --unsafe-no-sandbox

    def environment(self):
        return {SETTINGS_VARIABLE: json.dumps({**asdict(self), "limits": asdict(self.limits)})}

    @property
    def guard_report(self):
        return Path(self.channel) / GUARD_REPORT

    @property
    def evidence(self):
        return Path(self.channel) / EVIDENCE


@lru_cache(maxsize=1)
def isolation():
    """(True, "") when bwrap can build the sandbox here, else (False, why not)."""
    if shutil.which("bwrap") is None:
        return False, "bubblewrap is not installed (Debian and Ubuntu: apt install bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="autograder-") as channel:
        # What a kernel needs: this Python, the virtual environment and the course's packages, found in the sandbox.
        trial = [sys.executable, "-c", "import autograder.grading.kernel_guard"]
        command = sandboxed_command(trial, channel, Limits(), kernel_uid(os.getpid()))
        result = subprocess.run(command, capture_output=True, text=True, preexec_fn=die_with_parent)
    if result.returncode != 0:
        why = result.stderr.strip() or f"exit code {result.returncode}"
        return False, f"bwrap cannot build its sandbox here ({why})"
    return True, ""


def install_kernelspec(jupyter_path):
    """Write the sandbox kernelspec under `jupyter_path`/kernels; put `jupyter_path` on JUPYTER_PATH to use it."""
    folder = Path(jupyter_path) / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", THIS_MODULE, "{connection_file}"],
        "display_name": "Python 3 (autograder sandbox)",
        "language": "python",
        # The kernel is in a session and PID namespace of its own, out of reach of a signal to the launcher's
        # process group: an interrupt is a message, on which the kernel signals itself.
        "interrupt_mode": "message",
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))


def kernel_uid(launcher_pid):
    return FIRST_KERNEL_UID + launcher_pid


def sandboxed_command(command, channel, limits, uid):
    """`command` (a list) run in the sandbox whose channel is `channel`, as `uid` when the grader runs as root.

    As root, bwrap builds the namespaces with the grader's privileges and setpriv then becomes `uid` for good
    (capabilities, bounding set and groups gone, no_new_privs): nothing a kernel does can undo the mounts. As an
    ordinary user, bwrap builds them in a user namespace of its own and drops every capability.
    """
    as_root = os.geteuid() == 0
    arguments = [
        "bwrap",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        *([] if as_root else ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]),
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
        "--clearenv",
    ]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/usr", "/etc"):
        if os.path.islink(top):
            arguments += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            arguments += ["--ro-bind", top, top]
    # Mounted in this order, each over what it covers: the scratch tmpfs first, so that a virtual environment or a
    # course under /tmp (a clone in CI, say) is bound over it, not hidden by it.
    if limits.disk_mb:
        arguments += ["--size", str(limits.disk_mb << 20)]
    arguments += ["--perms", "1777", "--tmpfs", SCRATCH]
    for folder in ("home", "work"):
        arguments += ["--perms", "0777", "--dir", f"{SCRATCH}/{folder}"]
    shared = [str(path) for path in dict.fromkeys([sys.base_prefix, sys.prefix, *COURSE_PATHS]) if Path(path).exists()]
    # bwrap makes the folders above a mount point for root alone: the kernel must cross them.
    for folder in sorted({str(parent) for path in shared for parent in Path(path).parents} - {"/", SCRATCH}):
        arguments += ["--perms", "0755", "--dir", folder]
    for path in shared:
        arguments += ["--ro-bind", path, path]
    arguments += ["--proc", "/proc", "--dev", "/dev", "--bind", str(channel), str(channel)]
    environment = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": f"{SCRATCH}/home",
        "TMPDIR": SCRATCH,
        "MPLCONFIGDIR": f"{SCRATCH}/home",
        "LANG": "C.UTF-8",
        "COURSE_FAST": os.environ.get("COURSE_FAST", "1"),
        EVIDENCE_VARIABLE: str(Path(channel) / EVIDENCE),
    }
    for name, value in environment.items():
        arguments += ["--setenv", name, value]
    arguments += ["--chdir", f"{SCRATCH}/work", "--"]
    if as_root:
        user = [f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--bounding-set=-all", "--inh-caps=-all"]
        arguments += ["setpriv", *user, "--no-new-privs", "--"]
    return [*arguments, *command]


def die_with_parent():
    """Be killed when the parent process ends: a kernel must not outlive its launcher, nor the launcher nbgrader."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def _apply_limits(limits, own_uid):
    import resource

    address_space = max(limits.memory_mb - limits.disk_mb, 0) if limits.memory_mb else 0
    for name, value in [
        ("RLIMIT_AS", address_space << 20),
        ("RLIMIT_CPU", limits.cpu_seconds),
        ("RLIMIT_FSIZE", limits.file_mb << 20),
        ("RLIMIT_NPROC", limits.processes if own_uid else 0),
    ]:
        if value:
            resource.setrlimit(getattr(resource, name), (value, value))
    die_with_parent()


def launch(connection_file):
    """The launcher: start the kernel in its sandbox with its limits, wait for it, record how it ended."""
    die_with_parent()  # nbgrader, killed after the wall-clock limit or with a lost Dask worker
    settings = json.loads(os.environ[SETTINGS_VARIABLE])
    limits = Limits(**settings.pop("limits"))
    kernel = KernelSettings(limits, **settings)
    channel = Path(kernel.channel)
    guard = f"__import__({GUARD_MODULE!r}, fromlist=['install']).install({str(kernel.guard_report)!r})"
    kernel_command = [sys.executable, "-m", "ipykernel_launcher", f"--IPKernelApp.exec_lines={guard}", "-f"]
    own_uid = kernel.sandboxed and os.geteuid() == 0
    uid = kernel_uid(os.getpid())
    if kernel.sandboxed:
        # The kernel reads its connection file from the channel: the grader's own folders are not in its sandbox.
        connection_file = shutil.copy(connection_file, channel / "connection.json")
        if own_uid:
            for path in (channel, connection_file):
                os.chown(path, uid, uid)
        command = sandboxed_command([*kernel_command, str(connection_file)], channel, limits, uid)
        # bwrap sets the kernel's; its own (that of the namespace's first process) is empty of the grader's too.
        environment = {"PATH": os.environ.get("PATH", os.defpath)}
    else:
        home = channel / "home"
        home.mkdir(exist_ok=True)
        command = [*kernel_command, connection_file]
        environment = {
            **os.environ,
            "HOME": str(home),
            "TMPDIR": str(home),
            "MPLCONFIGDIR": str(home),
            EVIDENCE_VARIABLE: str(kernel.evidence),
        }
    process = subprocess.Popen(
        command,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: _apply_limits(limits, own_uid),
    )
    _pass_on(process.stdout, sys.stdout.buffer, LOG_LIMIT)
    returncode = process.wait()
    if kernel.sandboxed and returncode > 128:
        returncode = 128 - returncode  # bwrap exits with 128 + the number of the signal that killed the kernel
    Path(kernel.exit_report).write_text(json.dumps(asdict(KernelExit(returncode))))
    return 0 if returncode == 0 else 1


def _pass_on(source, target, limit):
    """Copy `source` to `target` up to `limit` bytes, then read and drop the rest until it closes."""
    kept = 0
    while chunk := source.read1(1 << 16):
        if kept < limit:
            target.write(chunk[: limit - kept])
            target.flush()
        kept += len(chunk)
    if kept > limit:
        target.write(f"\n[the kernel wrote {kept - limit} bytes more, not kept]\n".encode())
        target.flush()


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


if __name__ == "__main__":
    sys.exit(launch(sys.argv[1]))
