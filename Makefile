# Set-up and everyday commands. Every target bootstraps .venv first, so a fresh clone needs only
# `make lab` (students) or `make test` (developers, CI).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# CPU-only machines: a pinned version that resolves to a CPU build here. Elsewhere pass e.g.
# TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu" to avoid the multi-GB CUDA wheels.
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=
STAMP := $(VENV)/.installed
# Exact versions of everything but torch (constraints.txt); pyproject.toml holds the looser bounds for users.
CONSTRAINTS := constraints.txt
PYTEST_ARGS ?=
SUBMISSIONS ?= submissions
GRADES ?= grades
WORK ?= work

.PHONY: lab test test-fast lint format lessons reference-runs grade formgrader bench gpu-wheels gpu-check \
	gpu-check-dry-run constraints clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@if $(PYTHON) -c "import torch" 2>/dev/null; then \
		echo "Reusing the torch installed for $(PYTHON) (GPU machines)"; \
		$(PYTHON) -m venv --system-site-packages $(VENV); \
	else \
		$(PYTHON) -m venv $(VENV) && $(PY) -m pip install -q -c $(CONSTRAINTS) $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"; \
	fi
	$(PY) -m pip install -q -c $(CONSTRAINTS) -e ".[dev]"
	touch $@

# Students work in a copy of the release ($(WORK)/, not tracked), so their answers survive `make lessons`
# and pulling new lessons: new lesson files are copied in, a file already there is never overwritten.
# JUPYTER_CONFIG_PATH lets nbgrader's Validate button find autograder/nbgrader_config.py.
lab: $(STAMP)
	@cd lessons && find . -type f | while read -r file; do \
		[ -e "$(abspath $(WORK))/$$file" ] || { mkdir -p "$(abspath $(WORK))/$$(dirname "$$file")" && cp "$$file" "$(abspath $(WORK))/$$file"; }; \
	done
	JUPYTER_CONFIG_PATH=$(CURDIR)/autograder $(VENV)/bin/jupyter lab --no-browser --ip=127.0.0.1 \
		--ServerApp.root_dir=$(WORK) $(if $(filter 0,$(shell id -u)),--allow-root)

test: $(STAMP)
	$(PY) -m pytest -n auto --dist loadgroup $(PYTEST_ARGS)

# Everything but the notebooks, the graded classes and the browser: under 2 minutes on 2 cores.
test-fast: $(STAMP)
	$(PY) -m pytest -n auto --dist loadgroup -m "not slow and not browser" $(PYTEST_ARGS)

# ruff's settings are in pyproject.toml; notebooks are linted too (lessons/ is generated, so left out).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

lessons: $(STAMP)
	$(PY) -m autograder build

# The full-size runs lessons quote, recorded in results/NN_topic.json (CPU; resumes after an interruption).
# LESSONS="01_momentum" records one lesson; JOBS trainings run at a time.
LESSONS ?=
JOBS ?= 2
reference-runs: $(STAMP)
	$(PY) -m course.results $(LESSONS) --jobs $(JOBS)

grade: $(STAMP)
	$(PY) -m autograder grade $(SUBMISSIONS) --out $(GRADES)

# The instructor's JupyterLab on the course folder `make grade` wrote, to grade written answers in nbgrader's
# Formgrader (menu Nbgrader > Formgrader, or /formgrader): every nbgrader extension is on, since
# autograder/labconfig (which `make lab` uses to hide them) is not read, and nbgrader reads the course folder's
# nbgrader_config.py and gradebook.db. Run `make grade` again afterwards to merge the manual scores.
formgrader: $(STAMP)
	cd $(GRADES)/nbgrader && $(abspath $(VENV))/bin/jupyter lab --no-browser --ip=127.0.0.1 \
		$(if $(filter 0,$(shell id -u)),--allow-root)

bench: $(STAMP)
	$(PY) benchmarks/bench_widgets.py
	$(PY) benchmarks/bench_browser_latency.py
	$(PY) benchmarks/bench_optimizers.py
	$(PY) benchmarks/bench_norms.py
	$(PY) benchmarks/bench_training.py
	$(PY) benchmarks/bench_grading.py
	$(PY) benchmarks/bench_lessons.py

# The GPU check (benchmarks/gpu_check; README, "The GPU check"). gpu-wheels: what the GPU machine lacks, as wheels
# for its Python, into build/gpu-wheels (needs the package index). gpu-check: the check on this machine (its CPU
# mode without CUDA). gpu-check-dry-run: the exact command rehearsed in an environment like the GPU machine's (CI).
GPU_PYTHON_VERSION ?= 3.12
gpu-wheels: $(STAMP)
	$(PY) benchmarks/gpu_check/wheels.py --python-version $(GPU_PYTHON_VERSION)

gpu-check: $(STAMP)
	PYTHON=$(abspath $(PY)) bash benchmarks/gpu_check/run.sh

gpu-check-dry-run: $(STAMP)
	bash benchmarks/gpu_check/dry_run.sh

# Re-pin constraints.txt from a fresh environment built from pyproject.toml's bounds (needs the package index).
constraints:
	rm -rf build/constraints-venv && $(PYTHON) -m venv build/constraints-venv
	build/constraints-venv/bin/pip install -q $(TORCH_PIP_ARGS) "$(TORCH_SPEC)" && build/constraints-venv/bin/pip install -q -e ".[dev]"
	{ sed -n '/^#/p' $(CONSTRAINTS); build/constraints-venv/bin/pip freeze --exclude-editable | grep -v '^torch=='; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS) && rm -rf build/constraints-venv

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
