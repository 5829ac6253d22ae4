"""Shared fixtures: one real Spark JVM for the whole suite, dbt invoked in-process on it.

Starting Spark with a Hive metastore costs ~20 s, so the suite starts it once. dbt-spark's session method calls
SparkSession.builder.getOrCreate(), so `dbt build` run in-process uses this same JVM and metastore. Each scenario
gets its own schema (DBT_SCHEMA) and data folder (OLIST_DATA_DIR), so scenarios never see each other's tables.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

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

TEST_SCALE = 0.02  # ~2,000 orders: enough repeat customers for every model, fast on Spark


@pytest.fixture(scope="session")
def session_dir() -> Path:
    return _SESSION_DIR


@pytest.fixture(scope="session")
def spark():
    from olist_recommender.spark import spark_session

    session = spark_session(app_name="olist-tests")
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
