# mediamon: `make demo` runs the main job offline, `make test` runs the whole suite. Both install what is missing.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
MEDIAMON := $(VENV)/bin/mediamon
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install demo test lint format es-up es-down up down clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The stamp keeps `make test` and `make demo` from re-syncing an environment that matches the lock file.
$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen
	touch $@

install: $(VENV)/.synced

es-up: install
	$(MEDIAMON) es up

es-down: install
	$(MEDIAMON) es down

demo: es-up
	$(MEDIAMON) demo

test: es-up
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean: es-down
	rm -rf $(TOOLS) $(VENV)
