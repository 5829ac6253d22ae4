"""Read the marts the job needs from the warehouse catalog, checking that they hold what the job expects."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from olist_recommender.config import ConfigError, JobConfig

log = logging.getLogger(__name__)

REQUIRED_COLUMNS: dict[str, list[str]] = {
    "customer_product_interactions": [
        "customer_unique_id", "product_id", "product_category_name_english", "purchase_count", "monetary_value",
        "implicit_confidence", "explicit_rating",
    ],
    "fct_order_items": [
        "order_id", "customer_unique_id", "product_id", "product_category_name_english", "purchased_at", "price",
        "paid_value", "order_review_score", "is_valid_purchase",
    ],
    "customer_rfm": ["customer_unique_id", "segment"],
    "dim_customers": ["customer_unique_id", "segment"],
    "dim_products": ["product_id", "product_category_name_english"],
}  # fmt: skip


class InputError(RuntimeError):
    """The warehouse does not hold the input the job needs; the message names the table or column."""


@dataclass
class Inputs:
    interactions: DataFrame  # customer_product_interactions (all data, for serving)
    purchases: DataFrame  # valid purchases at item grain with timestamps, price and paid value (for time splits)
    customer_rfm: DataFrame
    customers: DataFrame  # every customer_unique_id, including those without a valid purchase
    products: DataFrame
    rfm_segments: DataFrame  # seed mapping scores to segments (for segments at a cut-off)


def _table(spark: SparkSession, schema: str, name: str, required: list[str]) -> DataFrame:
    qualified = f"{schema}.{name}"
    if not spark.catalog.tableExists(qualified):
        raise InputError(f"table {qualified} not found: run `dbt build` (make run) before the ALS job")
    df = spark.table(qualified)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"table {qualified} lacks column(s) {', '.join(missing)}; it has {', '.join(df.columns)}")
    return df


def read_inputs(spark: SparkSession, config: JobConfig) -> Inputs:
    m = config.marts_schema
    t = {name: _table(spark, m, name, cols) for name, cols in REQUIRED_COLUMNS.items()}
    segments = _table(
        spark,
        config.reference_schema,
        "rfm_segments",
        ["segment", "priority", "recency_score_min", "recency_score_max", "frequency_score_min",
         "frequency_score_max", "monetary_score_min", "monetary_score_max"],
    )  # fmt: skip
    for option in ("confidence_column", "rating_column"):
        column = getattr(config, option)
        if column not in t["customer_product_interactions"].columns:
            raise ConfigError(
                f"{option}={column!r} is not a column of {m}.customer_product_interactions "
                f"(columns: {', '.join(t['customer_product_interactions'].columns)})"
            )
    interactions = t["customer_product_interactions"].cache()
    n = interactions.count()
    if n == 0:
        raise InputError(f"{m}.customer_product_interactions is empty: no valid purchases to learn from")
    purchases = (
        t["fct_order_items"]
        .where(F.col("is_valid_purchase"))
        .select(
            "order_id", "customer_unique_id", "product_id", "product_category_name_english", "purchased_at", "price",
            # what the customer paid for the item, as dbt defines it once (customer_rfm's monetary value sums it)
            "paid_value",
            F.col("order_review_score").alias("review_score"),
        )
        .cache()
    )  # fmt: skip
    log.info("read %s interactions, %s valid purchase items from %s", f"{n:,}", f"{purchases.count():,}", m)
    return Inputs(
        interactions=interactions,
        purchases=purchases,
        customer_rfm=t["customer_rfm"],
        customers=t["dim_customers"].select("customer_unique_id", "segment"),
        products=t["dim_products"].select("product_id", "product_category_name_english"),
        rfm_segments=segments,
    )
