# Every target that runs code first makes sure .venv exists and holds the project
# with its dev extras; the stamp file keeps the install step instant when nothing changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format bench soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python bot.py console --demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# `make bench` writes bench/report.md and bench/results.json (< 5 min on 2 cores);
# `make bench QUICK=1` takes fewer samples (< 1 min).
QUICK ?=
bench: $(STAMP)
	$(BIN)/python -m bench.run $(if $(filter-out 0 no false,$(QUICK)),--quick)

soak: $(STAMP)
	$(BIN)/python -m pytest -m soak

clean:
	rm -rf $(VENV) .pytest_cache
