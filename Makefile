# Two entry points: `make demo` (train on a built-in dataset) and `make test`. Each makes .venv when missing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ganaug-installed
export NO_ALBUMENTATIONS_UPDATE := 1
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: demo test lint format clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo_digits.py

lint: $(STAMP)
	$(VENV)/bin/ruff check ganaug tests examples benchmarks
	$(VENV)/bin/ruff format --check ganaug tests examples benchmarks
	$(VENV)/bin/lint-imports

test: $(STAMP) lint
	$(PY) -m pytest -q

format: $(STAMP)
	$(VENV)/bin/ruff check --fix ganaug tests examples benchmarks
	$(VENV)/bin/ruff format ganaug tests examples benchmarks

clean:
	rm -rf runs demo_data .pytest_cache
