# `make test` works on a fresh machine: it builds .venv, installs everything, lints and runs the offline suite.
PYTHON ?= python3
VENV ?= .venv
# A CPU build of torch; installed before anything that depends on torch so pip does not pull a CUDA build.
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-slow test-readme lint format demo demo-small clean d3rlpy-venv results-table

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(BIN)/python -m pytest

test-slow: $(STAMP)
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(BIN)/python -m pytest -m slow

# Every command and snippet of README.md, offline, in an empty folder (tests/test_readme.py: a few minutes).
test-readme: $(STAMP)
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(BIN)/python -m pytest -m "slow or not slow" tests/test_readme.py

# The whole pipeline offline on CartPole-v1 (see hf_decision/commands/demo.py); demo-small takes a few minutes.
demo: $(STAMP)
	$(BIN)/python -m hf_decision.commands.demo --budget full

demo-small: $(STAMP)
	$(BIN)/python -m hf_decision.commands.demo --budget small

# d3rlpy 2.8.0 in a venv of its own (in ~/.cache/hf_decision), for the peer rows of the results table.
d3rlpy-venv: $(STAMP)
	$(BIN)/python benchmarks/d3rlpy_peers.py --setup --torch_spec "$(TORCH_SPEC)"

# The D4RL results table (benchmarks/results_table.py): BUDGET=smoke (minutes), reduced (~30 min on 2 CPU cores),
# cpu (the README's: hours, resumable), gap, full (a GPU). `make results-table BUDGET=cpu ARGS=--cached_only` renders
# the committed runs without training.
BUDGET ?= cpu
ARGS ?=
results-table: $(STAMP)
	$(BIN)/python -c "import mujoco" 2>/dev/null || $(BIN)/python -m pip install --quiet "gymnasium[mujoco]>=1.0"
	$(BIN)/python benchmarks/results_table.py --budget $(BUDGET) $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
