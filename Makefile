# Every target that runs code first makes sure .venv exists and holds the project with its dev
# extras, installed from the hash-pinned lock file (pip refuses any file whose hash differs);
# the stamp file keeps the install step instant when nothing changed.
# `pyproject.toml` keeps compatible ranges for people installing the package as a library;
# `make lock` regenerates both lock files from those ranges.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

LOCK     := requirements.lock
DEV_LOCK := requirements-dev.lock

.PHONY: demo test lint typecheck format bench soak audit lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml $(DEV_LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python bot.py console --demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# `make bench` writes devtools/bench/report.md and devtools/bench/results.json (< 5 min on 2 cores);
# `make bench QUICK=1` takes fewer samples (about 70 s).
QUICK ?=
bench: $(STAMP)
	$(BIN)/python -m devtools.bench.run $(if $(filter-out 0 no false,$(QUICK)),--quick)

soak: $(STAMP)
	$(BIN)/python -m pytest -m soak

# Checks the locked versions against known advisories when a scanner is available (pip-audit,
# installed on demand into its own .venv-tools so it never mixes with the locked set); says
# so plainly when there is none or it can't reach its advisory database.
TOOLS := .venv-tools/bin
audit:
	@test -x $(TOOLS)/python || $(PYTHON) -m venv .venv-tools
	@$(TOOLS)/python -m pip install --quiet pip-audit >/dev/null 2>&1 || true
	@if $(TOOLS)/python -m pip_audit --version >/dev/null 2>&1; then \
		$(TOOLS)/python -m pip_audit --strict --require-hashes --disable-pip -r $(LOCK) \
		|| { echo "make audit: pip-audit failed (an advisory above, or no access to its database)"; exit 1; }; \
	else \
		echo "make audit: no scanner available (pip install pip-audit), nothing was checked"; \
	fi

# Regenerates the lock files from pyproject.toml's ranges (needs pip-tools).
lock:
	@test -x $(TOOLS)/python || $(PYTHON) -m venv .venv-tools
	$(TOOLS)/python -m pip install --quiet pip-tools
	$(TOOLS)/python -m piptools compile --quiet --generate-hashes --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file $(LOCK) pyproject.toml
	$(TOOLS)/python -m piptools compile --quiet --generate-hashes --strip-extras --no-emit-index-url \
		--no-emit-find-links --extra dev --output-file $(DEV_LOCK) pyproject.toml

clean:
	rm -rf $(VENV) .venv-tools .pytest_cache
