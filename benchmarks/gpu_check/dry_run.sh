#!/usr/bin/env bash
# The GPU check's exact command, rehearsed on a CPU machine the way the GPU machine will run it (CI runs this):
#   1. a Python environment holding only the packages the GPU machine has (machine_packages.txt) that the check
#      needs, so a wheel missing from the carried set fails here and not on the GPU;
#   2. a copy of the tree as the device tool sends it (tracked and untracked files that git does not ignore), with
#      the carried wheels, made for this Python, in its build/gpu-wheels;
#   3. in that copy, `bash benchmarks/gpu_check/run.sh` with that environment's python3 first on PATH. Without CUDA
#      the check runs its CPU mode; it must pass every part.
# Needs the package index (steps 1 and 2); the project's .venv provides the installed metadata wheels.py reads.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv_python=${VENV_PYTHON:-.venv/bin/python}
work=$PWD/build/gpu-check-dry-run
rm -rf "$work" && mkdir -p "$work/tree"

"$venv_python" -m venv "$work/machine"
# shellcheck disable=SC2046 (one word a pinned package)
"$work/machine/bin/python" -m pip install -q $("$venv_python" benchmarks/gpu_check/wheels.py --present)

git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -cf - -T - | tar -xf - -C "$work/tree"
"$venv_python" benchmarks/gpu_check/wheels.py --python-version here --dest "$work/tree/build/gpu-wheels"

cd "$work/tree"
PATH="$work/machine/bin:$PATH" OUT="$work/out" bash benchmarks/gpu_check/run.sh
