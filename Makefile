# Two commands: `make run` (build the warehouse and everything after it) and `make test` (the whole suite).
# Both create the virtualenv and install the pinned dependencies first when needed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# Where the warehouse lives (Spark tables, Hive metastore, generated data); `make reset` deletes it.
export OLIST_HOME := $(CURDIR)
export OLIST_WAREHOUSE_DIR ?= $(CURDIR)/warehouse
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_TARGET ?= session
export DBT_SCHEMA ?= olist
# options for the ALS job, e.g. JOB_ARGS="--top-k 20 --test-window-days 90" (python -m olist_recommender --help)
JOB_ARGS ?=
export PYTHONUNBUFFERED := 1

# The embedded default data: generated, deterministic. Point OLIST_DATA_DIR at a folder of real Kaggle CSVs to use
# that instead (e.g. OLIST_DATA_DIR=../shared/data/olist make run).
OLIST_SCALE ?= 1.0
OLIST_SEED ?= 42
GENERATED_DIR := $(OLIST_WAREHOUSE_DIR)/data/olist_scale$(OLIST_SCALE)_seed$(OLIST_SEED)
ifdef OLIST_DATA_DIR
export OLIST_DATA_DIR := $(abspath $(OLIST_DATA_DIR))
DATA_STEP := check-data
else
export OLIST_DATA_DIR := $(GENERATED_DIR)
DATA_STEP := $(GENERATED_DIR)/.complete
endif

.PHONY: help venv data check-data run build recommend lint test reset docs

help:
	@echo "make run     build the warehouse (dbt build on Spark), then train/evaluate/publish recommendations"
	@echo "make recommend  only the ALS job, on the marts already built"
	@echo "make test    run the whole test suite"
	@echo "make lint    ruff (lint + format check), sqlfluff, dbt project-structure check"
	@echo "make docs    dbt docs generate (target/index.html)"
	@echo "make reset   delete the local warehouse ($(OLIST_WAREHOUSE_DIR))"

$(INSTALLED): requirements.txt pyproject.toml
	@command -v java >/dev/null || { echo "Java 17 is required (Spark runs on the JVM): install a JDK 17" >&2; exit 1; }
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

venv: $(INSTALLED)

$(GENERATED_DIR)/.complete: | $(INSTALLED)
	$(BIN)/python -m olist_synth --out $(GENERATED_DIR) --scale $(OLIST_SCALE) --seed $(OLIST_SEED)
	touch $@

check-data:
	@test -d "$(OLIST_DATA_DIR)" || { echo "OLIST_DATA_DIR=$(OLIST_DATA_DIR) is not a folder" >&2; exit 1; }

data: $(DATA_STEP)

build: venv data
	@echo "==> dbt build ($(DBT_TARGET)) on $(OLIST_DATA_DIR)"
	$(BIN)/dbt build

recommend: venv
	@echo "==> recommendation job on $(DBT_SCHEMA)_marts"
	$(BIN)/python -m olist_recommender --schema $(DBT_SCHEMA) $(JOB_ARGS)

run: build
	@$(MAKE) --no-print-directory recommend

docs: venv data
	$(BIN)/dbt docs generate

lint: venv
	$(BIN)/ruff check python_jobs tests/python
	$(BIN)/ruff format --check python_jobs tests/python
	$(BIN)/sqlfluff lint models macros analyses tests --disable-progress-bar
	$(BIN)/dbt parse --target-path target/lint --quiet
	$(BIN)/python -m project_checks.structure target/lint/manifest.json

test: venv lint
	$(BIN)/python -m pytest

reset:
	rm -rf $(OLIST_WAREHOUSE_DIR) target logs
