"""Shared fixtures: one real Spark JVM for the whole suite, dbt invoked in-process on it.

Starting Spark with a Hive metastore costs ~20 s, so the suite starts it once. dbt-spark's session method calls
SparkSession.builder.getOrCreate(), so `dbt build` run in-process uses this same JVM and metastore. Each scenario
gets its own schema (DBT_SCHEMA) and data folder (OLIST_DATA_DIR), so scenarios never see each other's tables.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from olist_warehouse import services

PROJECT_DIR = Path(__file__).resolve().parents[2]
_SESSION_DIR = Path(os.environ.get("OLIST_TEST_DIR", "/tmp/olist_recommender_tests")) / f"run_{os.getpid()}"
_SESSION_DIR.mkdir(parents=True, exist_ok=True)

# Static Spark settings must be fixed before the JVM starts; dbt's profile renders the same values.
os.environ["OLIST_HOME"] = str(PROJECT_DIR)
os.environ["OLIST_WAREHOUSE_DIR"] = str(_SESSION_DIR / "warehouse")
os.environ["DBT_PROFILES_DIR"] = str(PROJECT_DIR)
os.environ["DBT_TARGET"] = "session"
os.environ.setdefault("SPARK_MASTER", "local[2]")
os.environ["SPARK_SHUFFLE_PARTITIONS"] = "2"
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
# The tests' data is tiny: whole-stage Java code generation costs more than it saves on it (a public setting; the
# results are the same). Every Spark process of the suite gets it: this session, the dbt and job subprocesses
# (inherited) and the Thrift server. (Turning expression codegen off as well saves more, but breaks
# spark.catalog.listTables in Spark 4.3: EXPRESSION_DECODING_FAILED.)
SMALL_DATA_CONF = {"spark.sql.codegen.wholeStage": "false"}
os.environ["PYSPARK_SUBMIT_ARGS"] = " ".join(f"--conf {k}={v}" for k, v in SMALL_DATA_CONF.items()) + " pyspark-shell"

TEST_SCALE = 0.02  # ~2,000 orders: enough repeat customers for every model, fast on Spark


@pytest.fixture(scope="session")
def session_dir() -> Path:
    return _SESSION_DIR


@pytest.fixture(scope="session")
def spark():
    from olist_recommender.spark import spark_session

    session = spark_session(app_name="olist-tests", native_netlib=True)
    yield session
    session.stop()
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@dataclass
class DbtResult:
    success: bool
    results: list  # dbt node results (status, node, message, failures)
    exception: BaseException | None
    log: str

    def status_of(self, name: str) -> str:
        for r in self.results:
            if r.node.name == name:
                return str(r.status)
        raise KeyError(name)

    def failed(self) -> list[str]:
        return [f"{r.node.name}: {r.status} {r.message}" for r in self.results if str(r.status) in ("error", "fail")]


def run_dbt(args: list[str], *, schema: str, data_dir: Path | str, target_path: Path) -> DbtResult:
    """Run dbt in-process (real dbt-core + dbt-spark on the shared Spark JVM) and collect its log lines."""
    from dbt.cli.main import dbtRunner

    os.environ["DBT_SCHEMA"] = schema
    os.environ["OLIST_DATA_DIR"] = str(data_dir)
    lines: list[str] = []

    def collect(event) -> None:  # dbt EventMsg
        msg = event.info.msg
        if msg:
            lines.append(str(msg))

    runner = dbtRunner(callbacks=[collect])
    res = runner.invoke(
        [
            *args,
            "--project-dir", str(PROJECT_DIR),
            "--profiles-dir", str(PROJECT_DIR),
            "--target-path", str(target_path),
            "--no-partial-parse",
            "--no-use-colors",
        ]
    )  # fmt: skip
    results = list(getattr(res.result, "results", []) or [])
    return DbtResult(success=res.success, results=results, exception=res.exception, log="\n".join(lines))


@dataclass
class Warehouse:
    """One built scenario: its schema prefix, data folder and the dbt result that built it."""

    schema: str
    data_dir: Path
    build: DbtResult

    def table(self, layer: str, name: str) -> str:
        suffix = "" if layer == "" else f"_{layer}"
        return f"{self.schema}{suffix}.{name}"


def generate(out: Path, scale: float = TEST_SCALE, seed: int = 42) -> Path:
    from olist_synth import GeneratorConfig, generate_olist

    if not (out / ".complete").exists():
        generate_olist(out, GeneratorConfig(scale=scale, seed=seed))
        (out / ".complete").touch()
    return out


@pytest.fixture(scope="session")
def make_data(session_dir: Path) -> Callable[..., Path]:
    def _make(name: str, scale: float = TEST_SCALE, seed: int = 42) -> Path:
        return generate(session_dir / "data" / name, scale=scale, seed=seed)

    return _make


@pytest.fixture(scope="session")
def build_warehouse(spark, session_dir: Path) -> Callable[..., Warehouse]:
    def _build(schema: str, data_dir: Path, select: list[str] | None = None) -> Warehouse:
        # a partial build takes only tests whose parents are all selected (a test between a selected seed and an
        # unbuilt mart would otherwise run against a missing table)
        args = ["build"] + (["--select", *select, "--indirect-selection", "cautious"] if select else [])
        result = run_dbt(args, schema=schema, data_dir=data_dir, target_path=session_dir / f"target_{schema}")
        return Warehouse(schema=schema, data_dir=data_dir, build=result)

    return _build


@pytest.fixture(scope="session")
def default_warehouse(build_warehouse, make_data) -> Iterator[Warehouse]:
    """The whole project built on small generated data (the same generator as `make run`)."""
    wh = build_warehouse("t_default", make_data("default"))
    assert wh.build.success, "dbt build failed:\n" + "\n".join(wh.build.failed()) + f"\n{wh.build.exception}"
    yield wh


# ------------------------------------------------------------------------------------------ the shared warehouse
# A real Hive metastore service + Spark Thrift Server (python -m olist_warehouse services), dbt's thrift target and
# the ALS job attached to the same metastore: built once, used by the Thrift/SQL tests and the notebook test.
THRIFT_SCHEMA = "t_thrift"
THRIFT_K = 5
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def shared(session_dir: Path):
    config = services.ServicesConfig(
        state_dir=session_dir / "shared",
        metastore_port=free_port(),
        thrift_port=free_port(),
        thrift_master="local[2]",
        thrift_driver_memory="2g",
        shuffle_partitions="2",
        spark_conf=SMALL_DATA_CONF,
    )
    services.start_all(config)
    yield config
    services.stop_all(config)
    assert services.status(config)["thrift"].startswith("stopped")


def thrift_query(config: services.ServicesConfig, sql: str) -> list[tuple]:
    from olist_warehouse.sql import Target, run_sql

    frame = run_sql(sql, Target("thrift", config.host, config.thrift_port))
    return [tuple(r) for r in frame.itertuples(index=False)]


def thrift_env(config: services.ServicesConfig, session_dir: Path, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        **config.client_env(),
        "DBT_TARGET": "thrift",
        "DBT_SCHEMA": THRIFT_SCHEMA,
        "OLIST_DATA_DIR": str(data_dir),
        "OLIST_WAREHOUSE_DIR": str(session_dir / "shared_clients"),
        "SPARK_MASTER": "local[2]",
        "SPARK_DRIVER_MEMORY": "2g",
    }


THRIFT_MODELS = ["global_popularity", "co_purchase", "als_implicit"]


def thrift_job_command(session_dir: Path, models: list[str] | None = None) -> list[str]:
    """The ALS job on the shared catalog, small: one cut-off, a one-point grid, three models (or `models`)."""
    name = "_".join(models or THRIFT_MODELS)
    config = session_dir / f"thrift_job_{name}.json"
    config.write_text(
        json.dumps(
            {
                "top_k": THRIFT_K,
                "models": models or THRIFT_MODELS,
                "n_cutoffs": 1,
                "bootstrap_samples": 50,
                "implicit_grid": {"rank": [8], "alpha": [10.0], "max_iter": [5]},
            }
        )
    )
    return [sys.executable, "-m", "olist_recommender", "--schema", THRIFT_SCHEMA, "--config", str(config)]


@pytest.fixture(scope="session")
def thrift_warehouse(shared, session_dir: Path, make_data) -> dict:
    env = thrift_env(shared, session_dir, make_data("default"))
    build = subprocess.run(
        [str(BIN / "dbt"), "build", "--project-dir", str(PROJECT_DIR), "--target-path",
         str(session_dir / "target_thrift"), "--log-path", str(session_dir / "logs_thrift"), "--no-use-colors"],
        env=env, capture_output=True, text=True, cwd=session_dir,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-2000:]
    job = subprocess.run(thrift_job_command(session_dir), env=env, capture_output=True, text=True, cwd=session_dir)
    assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
    return {"env": env, "build": build.stdout, "job": job.stdout}
