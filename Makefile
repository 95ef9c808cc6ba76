# The two commands a person types on a fresh clone: `make test` and `make book`.
# Both create .venv when it is missing and install requirements.txt into it first.

VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.requirements-installed
JB     := $(VENV)/bin/jupyter-book

# Notebook kernels are started by name ("python3"); with the venv first on PATH they
# run the venv's python, whatever the caller's shell has activated.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# PyTorch's call-order warning is an error in every notebook kernel (chapter 6 shows it
# once, on purpose, inside warnings.catch_warnings); conftest.py does the same for pytest.
export PYTHONWARNINGS := error:Detected call of `lr_scheduler.step()`:UserWarning
# Keep the MNIST-1D cache inside the checkout, so runs share it and clean removes it.
export LRLIB_CACHE ?= $(CURDIR)/_build/.lrlib-cache

.PHONY: test book lab lint browser-test lrlib-tests notebooks bench bench-chapters bench-grid clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt
	@touch $@

# lint, then lrlib's tests and every chapter notebook (pytest: tests/ then chapters/
# with --nbval-lax), then the HTML book with warnings as errors and forced execution.
test: $(STAMP)
	$(VENV)/bin/ruff check lrlib tests bench
	$(PY) -m pytest
	$(JB) build . -W -n --keep-going
	$(PY) -m pytest -m browser tests/browser

book: $(STAMP)
	$(JB) build . -W -n --keep-going
	@echo "Open _build/html/index.html in a browser."

# JupyterLab on the chapters, with the same .venv (installed on first use).
lab: $(STAMP)
	$(PY) -m pip install -q -r requirements-lab.txt
	$(VENV)/bin/jupyter lab chapters

lint: $(STAMP)
	$(VENV)/bin/ruff check lrlib tests bench

# the built book in headless Chromium (needs Debian's chromium; see README)
browser-test: $(STAMP)
	$(PY) -m pytest -m browser tests/browser

lrlib-tests: $(STAMP)
	$(PY) -m pytest tests

notebooks: $(STAMP)
	$(PY) -m pytest chapters

bench: $(STAMP)
	$(PY) bench/bench_schedules.py

bench-chapters: $(STAMP)
	$(PY) bench/bench_chapters.py

# chapter 8's full comparison grid (minutes); rewrites bench/results/grid.json
bench-grid: $(STAMP)
	$(PY) bench/bench_grid.py

clean:
	rm -rf _build
