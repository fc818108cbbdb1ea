# Two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench setup lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

# torch first, from the exact CPU release; the package's own range (torch>=2.4,<2.14) is then satisfied.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/dybnn flow --out out/demo

# The default suite (400 s on 2 idle cores, 7 min 47 s with set-up in a clean clone, measured 2026-12-05); `make test-slow` runs the long end-to-end cases.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup -m "not slow"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup -m slow

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_hwsim.py

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf out .pytest_cache
