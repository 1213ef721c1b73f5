#!/usr/bin/env bash
# The GPU check in one command, from the repository's root on the GPU machine (README, "The GPU check"):
#
#     bash benchmarks/gpu_check/run.sh [--cpu] [--budget SECONDS]
#
# Sets up without network: the course runs from this tree (PYTHONPATH), and the packages the machine lacks are
# installed from the wheels `make gpu-wheels` put in build/gpu-wheels (carried along with the tree). A Python that
# has Jupyter's notebook runner already ($PYTHON, e.g. the project's .venv on a course machine) uses its own. Then runs check.py, writing gpu_check.json, this
# log and the executed notebooks to $OUT (default build/gpu-check).
set -uo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-python3}
out=${OUT:-build/gpu-check}
wheels=build/gpu-wheels
mkdir -p "$out"
{
    echo "gpu check: $(date -u +%FT%TZ), $($python --version 2>&1) at $(command -v "$python")"
    if ! $python -c "import nbclient, ipykernel" 2>/dev/null && compgen -G "$wheels/*.whl" >/dev/null; then
        site=$(mktemp -d)
        $python -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "$wheels"/*.whl ||
            { echo "gpu check: installing $wheels failed"; exit 1; }
        export PYTHONPATH="$site:$PWD"
        echo "gpu check: $(ls "$wheels"/*.whl | wc -l) carried wheels installed in $site"
    else
        export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
        echo "gpu check: using $python's own packages"
    fi
    PYTHONUNBUFFERED=1 $python benchmarks/gpu_check/check.py --out "$out" "$@"
} 2>&1 | tee "$out/gpu_check.log"
exit "${PIPESTATUS[0]}"
