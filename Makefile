# Two commands: `make run` (build the warehouse and everything after it) and `make test` (the whole suite).
# Both create the virtualenv and install the pinned dependencies first when needed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# The JDK Spark runs on (Spark 4.3 runs on Java 17, 21 and 25): JAVA_HOME when set; else a JDK 25 installed under
# /usr/lib/jvm, if any, which ran this project's 1x pipeline 5% faster and its ALS fits 9-13% faster than JDK 17
# (benchmarks/RESULTS.md); else the `java` on PATH. JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 make ... picks another.
JDK25_HOME := $(patsubst %/bin/java,%,$(firstword $(wildcard /usr/lib/jvm/*-25-*/bin/java /usr/lib/jvm/*-25/bin/java)))
ifeq ($(origin JAVA_HOME),undefined)
ifneq ($(JDK25_HOME),)
export JAVA_HOME := $(JDK25_HOME)
endif
endif
JAVA := $(if $(JAVA_HOME),$(JAVA_HOME)/bin/java,java)

# Where the warehouse lives (Spark tables, Hive metastore, generated data); `make reset` deletes it.
export OLIST_HOME := $(CURDIR)
export OLIST_WAREHOUSE_DIR ?= $(CURDIR)/warehouse
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_TARGET ?= session
export DBT_SCHEMA ?= olist
# options for the ALS job, e.g. JOB_ARGS="--top-k 20 --test-window-days 90" (python -m olist_recommender --help)
JOB_ARGS ?=
export PYTHONUNBUFFERED := 1
# HotSpot compiler directives (conf/jit-directives.json: Spark's generated classes compiled by C1 only) for the JVM of
# a `dbt build` of its own (profiles.yml); the job's JVM gets them from olist_recommender.spark. OLIST_JIT_DIRECTIVES=off
# leaves them out of both.
export OLIST_DBT_JIT_OPTIONS := $(if $(filter off,$(OLIST_JIT_DIRECTIVES)),,-XX:+UnlockDiagnosticVMOptions -XX:CompilerDirectivesFile=$(CURDIR)/conf/jit-directives.json)

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

# The shared warehouse (DBT_TARGET=thrift): a Hive metastore service + a Spark Thrift Server on this machine,
# bound to loopback (`make services-up`), or a team's server: set SPARK_THRIFT_HOST and HIVE_METASTORE_URIS.
export OLIST_SERVICES_DIR ?= $(OLIST_WAREHOUSE_DIR)/shared
export HIVE_METASTORE_PORT ?= 9083
export SPARK_THRIFT_HOST ?= 127.0.0.1
export SPARK_THRIFT_PORT ?= 10000
SERVICES = $(BIN)/python -m olist_warehouse services
ifeq ($(DBT_TARGET),thrift)
export HIVE_METASTORE_URIS ?= thrift://127.0.0.1:$(HIVE_METASTORE_PORT)
ifeq ($(SPARK_THRIFT_HOST),127.0.0.1)
export SPARK_WAREHOUSE_DIR ?= $(OLIST_SERVICES_DIR)/spark-warehouse
SERVICES_STEP := services-up
endif
endif

.PHONY: report bench help venv data check-data run build recommend lint test reset docs sql services-up services-down services-status

help:
	@echo "make run     build the warehouse (dbt build on Spark), then train/evaluate/publish recommendations"
	@echo "make recommend  only the ALS job, on the marts already built"
	@echo "make report  execute the analysis notebook on the warehouse -> $(OLIST_WAREHOUSE_DIR)/report/*.html, figures/*.png"
	@echo "make test    run the whole test suite"
	@echo "make bench   benchmark the pipeline at BENCH_SCALES=0.1,1,10 (prints a table; benchmarks/RESULTS.md)"
	@echo "make lint    ruff (lint + format check), sqlfluff, dbt project-structure check"
	@echo "make docs    dbt docs generate (target/index.html)"
	@echo "make sql Q=\"select ...\"  (or F=analyses/x.sql [VARS=\"name=value\"])  query the warehouse, print a table"
	@echo "make services-up / services-down / services-status   local Hive metastore + Spark Thrift Server"
	@echo "             (DBT_TARGET=thrift make run builds and publishes through them; it starts them if needed)"
	@echo "make reset   delete the local warehouse ($(OLIST_WAREHOUSE_DIR))"

$(INSTALLED): requirements.txt pyproject.toml
	@command -v $(JAVA) >/dev/null || { echo "Java 17 or newer is required (Spark runs on the JVM): install a JDK 17, 21 or 25, or set JAVA_HOME" >&2; exit 1; }
	@test -n "$(PYTHON)" || { echo "Python 3.11 is required" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# Spark ALS's linear algebra in C: the Cholesky solves (LAPACK's dppsv) and the BLAS routines that build the
# least-squares systems (dspr, daxpy, snrm2, sscal). The same results to the last bit as netlib's Java code, in less
# time (benchmarks/RESULTS.md). Optional: without a C compiler the job uses netlib's Java code, as Spark does.
# The BLAS part groups its sums by the JVM's widest vector, as netlib's Java BLAS does: HotSpot's MaxVectorSize on
# this machine, which can be narrower than the CPU's (HotSpot keeps older Skylake Xeons to AVX2, 32 bytes). A JDK
# with another width needs a rebuild (rm the library, make venv); tests/python/test_native_netlib.py checks it.
NATIVE_NETLIB := $(VENV)/lib/libolist_netlib.so
NATIVE_NETLIB_SOURCES := python_jobs/olist_recommender/native/dppsv.c python_jobs/olist_recommender/native/blas.c
JVM_VECTOR_BYTES = $(shell $(JAVA) -XX:+PrintFlagsFinal -version 2>/dev/null | awk '$$2 == "MaxVectorSize" {print $$4}')
$(NATIVE_NETLIB): $(NATIVE_NETLIB_SOURCES) | $(INSTALLED)
	$(CC) -O3 -march=native -ffp-contract=off -fPIC -shared \
	  $(if $(JVM_VECTOR_BYTES),-DJVM_VECTOR_BYTES=$(JVM_VECTOR_BYTES)) -o $@ $(NATIVE_NETLIB_SOURCES) -lm \
	  || echo "no C compiler: ALS uses netlib's Java LAPACK and BLAS" >&2

venv: $(INSTALLED) $(NATIVE_NETLIB)

# benchmark-only dependencies (the `implicit` ALS library), for `make bench` and its smoke test
BENCH_INSTALLED := $(VENV)/.bench-installed
$(BENCH_INSTALLED): benchmarks/requirements.txt $(INSTALLED)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	touch $@

$(GENERATED_DIR)/.complete: | $(INSTALLED)
	$(BIN)/python -m olist_synth --out $(GENERATED_DIR) --scale $(OLIST_SCALE) --seed $(OLIST_SEED)
	touch $@

check-data:
	@test -d "$(OLIST_DATA_DIR)" || { echo "OLIST_DATA_DIR=$(OLIST_DATA_DIR) is not a folder" >&2; exit 1; }

data: $(DATA_STEP)

build: venv data $(SERVICES_STEP)
	@echo "==> dbt build ($(DBT_TARGET)) on $(OLIST_DATA_DIR)"
	$(BIN)/dbt build

recommend: venv $(SERVICES_STEP)
	@echo "==> recommendation job on $(DBT_SCHEMA)_marts"
	$(BIN)/python -m olist_recommender --schema $(DBT_SCHEMA) $(JOB_ARGS)

NEXT_STEP = ==> next: make report   (executes notebooks/olist_recommender.ipynb -> $(REPORT_DIR)/olist_recommender.html + figures/*.png)

# on the session target dbt builds inside the job's process, on its Spark session: one JVM for the whole pipeline
# (benchmarks/RESULTS.md); on the thrift target dbt builds through the server, then the job runs
ifeq ($(DBT_TARGET),session)
run: venv data
	@echo "==> dbt build (session) on $(OLIST_DATA_DIR), then the recommendation job, in one Spark session"
	$(BIN)/python -m olist_recommender --dbt-build --schema $(DBT_SCHEMA) $(JOB_ARGS)
	@echo "$(NEXT_STEP)"
else
run: build
	@$(MAKE) --no-print-directory recommend
	@echo "$(NEXT_STEP)"
endif

# the analysis notebook, executed headlessly on the current warehouse: HTML report + PNG figures
REPORT_DIR ?= $(OLIST_WAREHOUSE_DIR)/report
report: venv $(SERVICES_STEP)
	$(BIN)/python -m olist_analysis --out $(REPORT_DIR) --schema $(DBT_SCHEMA)

docs: venv data
	$(BIN)/dbt docs generate

sql: venv
	@$(BIN)/python -m olist_warehouse sql $(if $(F),--file "$(F)",) $(foreach v,$(VARS),--var "$(v)") $(if $(Q),"$(Q)",)

services-up: venv
	$(SERVICES) start

services-down: venv
	$(SERVICES) stop

services-status: venv
	$(SERVICES) status

# whole pipeline at several scales: wall seconds, peak RSS, rows per stage; Spark ALS vs implicit; top-K vs matmul
BENCH_SCALES ?= 0.1,1,10
BENCH_ARGS ?=
bench: $(BENCH_INSTALLED)
	$(BIN)/python benchmarks/bench.py --scales $(BENCH_SCALES) $(BENCH_ARGS)

lint: venv
	$(BIN)/ruff check python_jobs tests/python benchmarks notebooks
	$(BIN)/ruff format --check python_jobs tests/python benchmarks notebooks
	$(BIN)/sqlfluff lint models macros analyses tests --disable-progress-bar
	$(BIN)/dbt parse --target-path target/lint --quiet
	$(BIN)/python -m project_checks.structure target/lint/manifest.json

test: venv $(BENCH_INSTALLED) lint
	$(BIN)/python -m pytest

reset:
	-test -x $(BIN)/python && $(SERVICES) stop
	rm -rf $(OLIST_WAREHOUSE_DIR) target logs
