"""Run SQL against the warehouse and print the result as a table (`make sql Q="select ..."` / `F=analyses/x.sql`).

Where the query runs follows dbt's target (DBT_TARGET): `thrift` sends it to the Spark Thrift Server at
SPARK_THRIFT_HOST:SPARK_THRIFT_PORT over PyHive (the shared catalog); `session` runs it in a local Spark session on
the embedded catalog under OLIST_WAREHOUSE_DIR. Files may be dbt analyses: `{{ ref('model') }}` resolves through
the project's manifest (parsed for the current DBT_SCHEMA), `{{ var('name', default) }}` from --var name=value,
`{{ target.schema }}` to DBT_SCHEMA.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

PROJECT_DIR = Path(__file__).resolve().parents[2]


class SqlError(RuntimeError):
    """A query that cannot run; the message names the target and what to do."""


@dataclass(frozen=True)
class Target:
    name: str  # "thrift" or "session"
    host: str = "127.0.0.1"
    port: int = 10000

    @classmethod
    def from_env(cls, name: str | None = None) -> Target:
        name = name or os.environ.get("DBT_TARGET", "session")
        if name not in ("thrift", "session"):
            raise SqlError(f"unknown target {name!r}: use thrift or session")
        return cls(
            name=name,
            host=os.environ.get("SPARK_THRIFT_HOST", "127.0.0.1"),
            port=int(os.environ.get("SPARK_THRIFT_PORT", "10000")),
        )

    def describe(self) -> str:
        if self.name == "thrift":
            return f"Spark Thrift Server {self.host}:{self.port}"
        return "local Spark session (embedded catalog)"


def relations_from_manifest(manifest_path: Path) -> dict[str, str]:
    """model/seed/snapshot name -> its relation (schema.table) as dbt built it."""
    manifest = json.loads(manifest_path.read_text())
    return {
        node["name"]: node["relation_name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed", "snapshot") and node.get("relation_name")
    }


def parse_project(target_path: Path) -> Path:
    """`dbt parse` for the current environment (DBT_SCHEMA decides the schemas); returns the manifest path."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        ["parse", "--project-dir", str(PROJECT_DIR), "--target-path", str(target_path), "--quiet"]
    )
    if not result.success:
        raise SqlError(f"dbt parse failed: {result.exception}")
    return target_path / "manifest.json"


def render(text: str, relations: dict[str, str], variables: dict[str, str], schema: str) -> str:
    """Render a dbt analysis' Jinja: ref(), var(), target.schema."""
    import jinja2

    def ref(name: str) -> str:
        if name not in relations:
            raise SqlError(f"ref('{name}'): no such model or seed in the project")
        return relations[name]

    def var(name: str, default: str | None = None) -> str:
        if name in variables:
            return variables[name]
        if default is None:
            raise SqlError(f"var('{name}') has no value: pass --var {name}=...")
        return default

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return env.from_string(text).render(ref=ref, var=var, target={"schema": schema, "name": "sql"})


def query_thrift(sql: str, target: Target) -> pd.DataFrame:
    from pyhive import hive

    try:
        conn = hive.connect(host=target.host, port=target.port)
    except Exception as exc:  # noqa: BLE001 - connection errors come from several layers (socket, thrift)
        raise SqlError(
            f"no Spark Thrift Server answers at {target.host}:{target.port} ({exc.__class__.__name__}: {exc}); "
            "start one with `make services-up`, or query the local catalog with DBT_TARGET=session"
        ) from exc
    with conn:
        cursor = conn.cursor()
        cursor.execute(sql)
        if cursor.description is None:
            return pd.DataFrame()
        columns = [d[0].split(".")[-1] for d in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=columns)


def query_session(sql: str) -> pd.DataFrame:
    from olist_recommender.spark import spark_session

    spark = spark_session(app_name="olist-sql")
    frame = spark.sql(sql)
    return pd.DataFrame([tuple(r) for r in frame.collect()], columns=frame.columns)


def run_sql(sql: str, target: Target) -> pd.DataFrame:
    statement = sql.strip().rstrip(";").strip()
    if not statement:
        raise SqlError("empty query")
    return query_thrift(statement, target) if target.name == "thrift" else query_session(statement)


def format_table(frame: pd.DataFrame, max_rows: int) -> str:
    if frame.empty and not len(frame.columns):
        return "(statement ran; no result set)"
    shown = frame.head(max_rows)
    text = shown.to_string(index=False, max_colwidth=60)
    more = f"\n... {len(frame) - max_rows:,} more rows (--max-rows)" if len(frame) > max_rows else ""
    return f"{text}{more}\n({len(frame):,} rows)"
