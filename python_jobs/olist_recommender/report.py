"""What `make run` shows at the end of the job: the K=10 table, the chosen model and why, three customers."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from olist_recommender.config import JobConfig
from olist_recommender.evaluation import METRICS
from olist_recommender.job import RunResult


def evaluation_table(result: RunResult, k: int) -> str:
    rows = [r for r in result.evaluation if r["cutoff"] == "mean" and r["k"] == k]
    models = sorted(
        {r["model"] for r in rows},
        key=lambda m: (
            -next(
                r["value"] for r in rows if r["model"] == m and r["user_group"] == "all" and r["metric"] == "hit_rate"
            )
        ),
    )
    value = {(r["model"], r["user_group"], r["metric"]): r for r in rows}
    head = (
        f"{'model':<22}"
        + "".join(f"{m + '@' + str(k):>22}" for m in (*METRICS, "coverage"))
        + f"{'HR@' + str(k) + ' warm':>22}"
    )
    lines = [head, "-" * len(head)]
    for model in models:
        cells = []
        for metric in (*METRICS, "coverage"):
            r = value[(model, "all", metric)]
            ci = f" [{r['ci_low']:.3f},{r['ci_high']:.3f}]" if r["ci_low"] is not None else ""
            cells.append(f"{r['value']:.4f}{ci}".rjust(22))
        warm = value[(model, "warm", "hit_rate")]
        cells.append(f"{warm['value']:.4f} (n={warm['n_users']})".rjust(22))
        lines.append(f"{model:<22}" + "".join(cells))
    return "\n".join(lines)


def example_customers(spark: SparkSession, config: JobConfig, n: int = 3) -> str:
    """The n customers with the most distinct products bought (ties by id): their history and recommendations."""
    marts = config.marts_schema
    interactions = spark.table(f"{marts}.customer_product_interactions")
    chosen = (
        interactions.groupBy("customer_unique_id").agg(F.count("*").alias("products"))
        .orderBy(F.desc("products"), "customer_unique_id").limit(n).collect()
    )  # fmt: skip
    out = []
    for c in chosen:
        cid = c.customer_unique_id
        bought = interactions.where(F.col("customer_unique_id") == cid).orderBy("first_purchased_at").collect()
        recs = (
            spark.table(f"{marts}.recommendations_by_customer")
            .where(F.col("customer_unique_id") == cid)
            .orderBy("rank")
            .collect()
        )
        out.append(f"customer {cid}")
        out.append(
            "  bought:      " + "; ".join(f"{b.product_id[:8]} ({b.product_category_name_english})" for b in bought)
        )
        out.append(
            "  recommended: "
            + "; ".join(f"{r.rank}. {r.product_id[:8]} ({r.product_category}, {r.source})" for r in recs)
        )
    return "\n".join(out)


def summary(spark: SparkSession, config: JobConfig, result: RunResult) -> str:
    k = 10 if 10 in config.ks else config.selection_k
    parts = [
        f"== Recommendation run {result.run_id}",
        f"Evaluation, mean over cut-offs, all test users (95% bootstrap CI), K={k}:",
        evaluation_table(result, k),
        "",
        f"Chosen model: {result.chosen_model}",
        f"Why: {result.reason}",
        "",
        "Example customers:",
        example_customers(spark, config),
        "",
        "Stage seconds: " + ", ".join(f"{s}={t}" for s, t in result.stage_seconds.items()),
        f"Tables: {config.marts_schema}.recommendations_by_customer, recommendations_by_segment, "
        "recommendation_evaluation, recommendation_runs",
    ]
    return "\n".join(parts)
