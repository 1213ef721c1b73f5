"""The Python packages the GPU check needs and the GPU machine lacks, as wheels to carry there (it has no network).

    python benchmarks/gpu_check/wheels.py                  # download them for Python 3.12 into build/gpu-wheels
    python benchmarks/gpu_check/wheels.py --list           # print them, pinned, one per line
    python benchmarks/gpu_check/wheels.py --present        # print what the machine must already have, pinned

The check needs the course's own runtime (torch, NumPy, SciPy, matplotlib, tqdm) and Jupyter's notebook runner
(nbclient, a kernel, ipywidgets). Their dependencies are read from the metadata installed in this environment, so
versions are the ones constraints.txt pins, with markers evaluated for Linux x86-64 and the target Python. What
machine_packages.txt lists is already on the machine; the rest is downloaded as binary wheels for the target.
"""

import argparse
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

HERE = Path(__file__).resolve().parent
NEEDED = ("torch", "numpy", "scipy", "matplotlib", "tqdm", "nbclient", "ipykernel", "ipywidgets")
# pip matches a manylinux tag exactly: the glibc versions wheels of these packages are built for.
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
PLATFORMS += ("manylinux1_x86_64", "manylinux_2_5_x86_64")


def machine_packages(path=HERE / "machine_packages.txt"):
    """Canonical names of the packages already on the GPU machine."""
    lines = (line.strip() for line in path.read_text().splitlines())
    return {canonicalize_name(line) for line in lines if line and not line.startswith("#")}


def marker_environment(python_version):
    """PEP 508 marker values of CPython `python_version` ("3.12") on Linux x86-64."""
    return {
        "python_version": python_version,
        "python_full_version": f"{python_version}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "extra": "",
    }


def closure(roots, python_version):
    """{canonical name: public version} of `roots` and everything they require, as installed here."""
    environment, found, pending = marker_environment(python_version), {}, list(roots)
    while pending:
        name = canonicalize_name(pending.pop())
        if name in found:
            continue
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise SystemExit(f"{name} is needed on Python {python_version} but not installed here: pin it") from None
        found[name] = Version(distribution.version).public  # torch 2.13.0+cpu here is torch 2.13.0 there
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                pending.append(requirement.name)
    return found


def split(python_version):
    """(carried, present): the closure of NEEDED minus, and within, what the machine already has."""
    needed, present = closure(NEEDED, python_version), machine_packages()
    carried = {name: version for name, version in needed.items() if name not in present}
    return carried, {name: version for name, version in needed.items() if name in present}


def download(pins, python_version, destination):
    """Binary wheels of `pins` for CPython `python_version` on Linux x86-64 into `destination` (emptied first)."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    platforms = [argument for tag in PLATFORMS for argument in ("--platform", tag)]
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    command += ["--python-version", python_version, "--implementation", "cp", *platforms, "--dest", str(destination)]
    subprocess.run([*command, *(f"{name}=={version}" for name, version in sorted(pins.items()))], check=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python-version", default="3.12", help="the GPU machine's Python (default 3.12)")
    parser.add_argument("--dest", type=Path, default=Path("build/gpu-wheels"))
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--list", action="store_true", help="print the carried packages instead of downloading")
    shown.add_argument("--present", action="store_true", help="print the packages the machine must have")
    args = parser.parse_args(argv)
    if args.python_version == "here":
        args.python_version = ".".join(platform.python_version_tuple()[:2])
    carried, present = split(args.python_version)
    if args.list or args.present:
        print(
            "\n".join(f"{name}=={version}" for name, version in sorted((present if args.present else carried).items()))
        )
        return 0
    download(carried, args.python_version, args.dest)
    size = sum(path.stat().st_size for path in args.dest.iterdir()) / 2**20
    print(f"{len(carried)} wheels for Python {args.python_version} in {args.dest} ({size:.1f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
