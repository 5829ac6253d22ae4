"""Publish a run atomically: write this run's tables under new names, then point the views users query at them.

Users query `<schema>_marts.recommendations_by_customer`, `recommendations_by_segment`,
`recommendation_evaluation` and `recommendation_runs`: views over run tables in `<schema>_recommendation_runs`
(`<name>__<run_id>`). A run writes and checks all its tables first; only then is each view replaced (one
metastore operation each), so a reader sees the previous run or the new one, never a partial table. A run that
fails before the swap drops what it wrote and leaves the views as they were. The evaluation and runs tables are
histories: each run's table holds the previous rows plus its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from olist_recommender.config import InjectedFailure, JobConfig

log = logging.getLogger(__name__)

EVALUATION_SCHEMA = T.StructType(
    [
        T.StructField("run_id", T.StringType(), False),
        T.StructField("model", T.StringType(), False),
        T.StructField("cutoff", T.StringType(), False),
        T.StructField("user_group", T.StringType(), False),
        T.StructField("k", T.IntegerType(), False),
        T.StructField("metric", T.StringType(), False),
        T.StructField("value", T.DoubleType(), True),
        T.StructField("ci_low", T.DoubleType(), True),
        T.StructField("ci_high", T.DoubleType(), True),
        T.StructField("n_users", T.LongType(), True),
        T.StructField("params", T.StringType(), True),
    ]
)
RUNS_SCHEMA = T.StructType(
    [
        T.StructField("run_id", T.StringType(), False),
        T.StructField("started_at", T.TimestampType(), False),
        T.StructField("finished_at", T.TimestampType(), False),
        T.StructField("data_fingerprint", T.StringType(), False),
        T.StructField("config", T.StringType(), False),
        T.StructField("chosen_model", T.StringType(), False),
        T.StructField("chosen_reason", T.StringType(), True),
        T.StructField("status", T.StringType(), False),
    ]
)
COLUMNS = {
    "recommendations_by_customer": [
        "customer_unique_id", "rank", "product_id", "product_category", "score", "source", "run_id",
    ],
    "recommendations_by_segment": ["segment", "rank", "product_id", "product_category", "score", "run_id"],
    "recommendation_evaluation": [f.name for f in EVALUATION_SCHEMA.fields],
    "recommendation_runs": [f.name for f in RUNS_SCHEMA.fields],
}  # fmt: skip


@dataclass
class Publication:
    run_id: str
    tables: dict[str, str]  # view -> run table it now reads


def _history(spark: SparkSession, view: str, schema: T.StructType, new_rows: DataFrame) -> DataFrame:
    if spark.catalog.tableExists(view):
        previous = spark.table(view).select(*[F.col(f.name).cast(f.dataType) for f in schema.fields])
        return previous.unionByName(new_rows)
    return new_rows


def publish(
    spark: SparkSession,
    config: JobConfig,
    run_id: str,
    *,
    by_customer: DataFrame,
    by_segment: DataFrame,
    evaluation: list[dict],
    run_row: dict,
    fail_before_swap: bool = False,
    on_table_written: Callable[[str, int], None] | None = None,
) -> Publication:
    """Write the run's four tables (`by_customer` first, `run_row` last), then point the views at them.

    `on_table_written(name, rows)` is called after each table is written: the job ends its recommend stage at the
    customers' table (their top-k are computed as it is written) and sets the run row's `finished_at` there.
    Whatever fails or is raised before the swap, the callback included, drops the run's tables and leaves the views
    as they were."""
    runs, marts = config.runs_schema, config.marts_schema
    spark.sql(f"create database if not exists {runs}")
    spark.sql(f"create database if not exists {marts}")
    tables = {name: f"{runs}.{name}__{run_id}" for name in COLUMNS}
    # each frame is built as its turn comes: `run_row` is read after the other three tables are written
    frames: dict[str, Callable[[], DataFrame]] = {
        "recommendations_by_customer": lambda: by_customer.withColumn("run_id", F.lit(run_id)),
        "recommendations_by_segment": lambda: by_segment.withColumn("run_id", F.lit(run_id)),
        "recommendation_evaluation": lambda: _history(
            spark, f"{marts}.recommendation_evaluation", EVALUATION_SCHEMA,
            spark.createDataFrame([{**r, "run_id": run_id} for r in evaluation], EVALUATION_SCHEMA),
        ),
        "recommendation_runs": lambda: _history(
            spark, f"{marts}.recommendation_runs", RUNS_SCHEMA, spark.createDataFrame([run_row], RUNS_SCHEMA)
        ),
    }  # fmt: skip
    try:
        for name, frame in frames.items():
            frame().select(*COLUMNS[name]).write.format("parquet").mode("errorifexists").saveAsTable(tables[name])
            rows = spark.table(tables[name]).count()
            log.info("wrote %s (%s rows)", tables[name], f"{rows:,}")
            if on_table_written is not None:
                on_table_written(name, rows)
        if fail_before_swap:
            raise InjectedFailure(
                "failure injected after writing the run tables, before the swap (fail_after_stage=write)"
            )
    except BaseException:
        for table in tables.values():
            spark.sql(f"drop table if exists {table}")
        log.error("run %s: nothing published; the previous recommendation tables are unchanged", run_id)
        raise
    for name, table in tables.items():
        _point_view(spark, f"{marts}.{name}", f"select {', '.join(COLUMNS[name])} from {table}")
    log.info("swapped %s views in %s to run %s", len(tables), marts, run_id)
    _drop_old_runs(spark, runs, run_id, config.keep_previous_runs)
    return Publication(run_id=run_id, tables=tables)


def _point_view(spark: SparkSession, view: str, query: str) -> None:
    """Make `view` read `query` in one metastore operation.

    `create or replace view` is not that: Spark drops the old view and then creates the new one, and a reader in
    between gets TABLE_OR_VIEW_NOT_FOUND (the Thrift test caught it). `alter view ... as` updates the existing
    definition with a single alter_table call; only the very first publish creates the view.
    """
    if spark.catalog.tableExists(view):
        spark.sql(f"alter view {view} as {query}")
    else:
        spark.sql(f"create view {view} as {query}")


def _drop_old_runs(spark: SparkSession, runs_schema: str, current: str, keep_previous: int) -> None:
    """Keep the current run's tables and the `keep_previous` runs before it (readers may still be on them)."""
    run_ids = sorted({t.name.split("__", 1)[1] for t in spark.catalog.listTables(runs_schema) if "__" in t.name})
    older = [r for r in run_ids if r < current]
    for old in older[: max(0, len(older) - keep_previous)]:
        for name in COLUMNS:
            spark.sql(f"drop table if exists {runs_schema}.{name}__{old}")
