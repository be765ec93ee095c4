# mediamon: `make demo` runs the main job offline, `make test` runs the whole suite. Both install what is missing.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
MEDIAMON := $(VENV)/bin/mediamon
AIRFLOW_HOME := $(CURDIR)/.mediamon/airflow
AIRFLOW_PORT ?= 8080
AIRFLOW_HOST ?= 127.0.0.1
AIRFLOW_PARALLELISM ?= 8
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

# `make up`: the local Elasticsearch node (unless MEDIAMON_ES_URL points at another cluster) and `airflow standalone`
# (scheduler, DAG processor, triggerer, API server and UI) in the background, running dags/ with its SQLite
# metadata, log and admin password in $(AIRFLOW_HOME); the UI listens on $(AIRFLOW_HOST) (127.0.0.1 unless told
# otherwise). `make down` stops what `make up` started.
up: install
	@mkdir -p $(AIRFLOW_HOME)
	@if [ -n "$$MEDIAMON_ES_URL" ]; then echo "Elasticsearch: $$MEDIAMON_ES_URL (not started here)"; \
	elif $(MEDIAMON) es status >/dev/null 2>&1; then echo "Elasticsearch: the local node is already running"; \
	else $(MEDIAMON) es up && touch $(AIRFLOW_HOME)/es-started; fi
	@if [ -f $(AIRFLOW_HOME)/standalone.pid ] && kill -0 "$$(cat $(AIRFLOW_HOME)/standalone.pid)" 2>/dev/null; then \
	  echo "Airflow: already running (pid $$(cat $(AIRFLOW_HOME)/standalone.pid))"; \
	else \
	  AIRFLOW_HOME=$(AIRFLOW_HOME) AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags AIRFLOW__CORE__LOAD_EXAMPLES=False \
	  AIRFLOW__API__HOST=$(AIRFLOW_HOST) AIRFLOW__API__PORT=$(AIRFLOW_PORT) \
	  AIRFLOW__API__BASE_URL=http://localhost:$(AIRFLOW_PORT) \
	  AIRFLOW__CORE__PARALLELISM=$(AIRFLOW_PARALLELISM) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
	  setsid nohup $(VENV)/bin/airflow standalone >$(AIRFLOW_HOME)/standalone.log 2>&1 </dev/null & \
	  echo $$! >$(AIRFLOW_HOME)/standalone.pid; \
	  echo "Airflow: starting (pid $$!), log $(AIRFLOW_HOME)/standalone.log"; \
	fi
	@for i in $$(seq 180); do \
	  curl -fs -o /dev/null http://127.0.0.1:$(AIRFLOW_PORT)/api/v2/monitor/health && break; \
	  kill -0 "$$(cat $(AIRFLOW_HOME)/standalone.pid)" 2>/dev/null || { tail -20 $(AIRFLOW_HOME)/standalone.log; exit 1; }; \
	  sleep 1; \
	done; \
	curl -fs -o /dev/null http://127.0.0.1:$(AIRFLOW_PORT)/api/v2/monitor/health || \
	  { echo "Airflow did not answer on port $(AIRFLOW_PORT) within 3 minutes: see $(AIRFLOW_HOME)/standalone.log"; exit 1; }
	@echo "Airflow UI: http://localhost:$(AIRFLOW_PORT) (listening on $(AIRFLOW_HOST) only; AIRFLOW_HOST=0.0.0.0 opens it to the network)  user: admin  password: \
	$$($(VENV)/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' \
	$(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated)"

down:
	@if [ -f $(AIRFLOW_HOME)/standalone.pid ] && kill -0 "$$(cat $(AIRFLOW_HOME)/standalone.pid)" 2>/dev/null; then \
	  pid=$$(cat $(AIRFLOW_HOME)/standalone.pid); kill -TERM -- -$$pid; \
	  for i in $$(seq 30); do kill -0 $$pid 2>/dev/null || break; sleep 1; done; \
	  kill -KILL -- -$$pid 2>/dev/null || true; echo "Airflow: stopped"; \
	else echo "Airflow: not running"; fi
	@rm -f $(AIRFLOW_HOME)/standalone.pid
	@if [ -f $(AIRFLOW_HOME)/es-started ]; then $(MEDIAMON) es down && rm -f $(AIRFLOW_HOME)/es-started; fi
