# ltvlab — `make help` lists the targets. Every target creates or reuses the local .venv itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?=

.DEFAULT_GOAL := help
.PHONY: help setup report test test-slow test-study lint format lab strip bench clean

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

$(STAMP): pyproject.toml requirements-lock.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ltvlab needs Python 3.11 or newer: set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements-lock.txt -e '.[dev,spark]'
	$(BIN)/python -m ipykernel install --sys-prefix --name ltvlab --display-name "Python (ltvlab)" >/dev/null
	@# In a git clone (not a worktree, whose config is shared), strip notebook outputs on commit (.gitattributes)
	@if [ -d .git ]; then \
		git config filter.nbstripout.clean '"$(abspath $(BIN))/python" -m nbstripout' && \
		git config filter.nbstripout.smudge cat && git config filter.nbstripout.required true && \
		git config diff.ipynb.textconv '"$(abspath $(BIN))/python" -m nbstripout -t'; fi
	@touch $(STAMP)

## setup: create .venv with ltvlab and its pinned dependencies (done by the other targets too)
setup: $(STAMP)

## report: the main job: run the notebook suite on the bundled data and write reports/index.html
report: $(STAMP)
	$(BIN)/ltvlab run $(if $(JOBS),--jobs $(JOBS),)

## test: run the default (fast) test suite
test: $(STAMP)
	$(BIN)/python -m pytest

## test-slow: run the long statistical tests (full NUTS fits, simulation studies of a few minutes)
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m "slow and not study"

## test-study: run the multi-dataset calibration studies (tens of minutes on 2 cores)
test-study: $(STAMP)
	$(BIN)/python -m pytest -m study

## bench: performance benchmarks vs pymc-marketing (creates .venv-bench; writes benchmarks/RESULTS.md; hours on 2 cores)
bench: $(STAMP)
	@test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	grep -v '^#' requirements-lock.txt > .venv-bench/constraints.txt
	.venv-bench/bin/python -m pip install --quiet -c .venv-bench/constraints.txt -e . pymc-marketing==0.19.2
	$(BIN)/python benchmarks/run_all.py --peer-python .venv-bench/bin/python $(BENCH_ARGS)

## lint: ruff lint and format check
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

## format: apply ruff formatting and safe fixes
format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

## lab: open JupyterLab with the project's kernel ("Python (ltvlab)"); report notebooks are saved without outputs
lab: $(STAMP)
	$(BIN)/jupyter lab --ContentsManager.pre_save_hook=ltvlab.reports.notebook_hooks.strip_outputs_before_save notebooks

## strip: remove outputs from the report notebooks (after saving them from another editor)
strip: $(STAMP)
	$(BIN)/python -m nbstripout notebooks/*.ipynb

## clean: remove generated reports and processed data (keeps .venv and bundled data)
clean:
	rm -rf reports/runs reports/index.html data/processed/* .pytest_cache
