"""Time splits: rolling-origin cut-offs, and everything a model may know at a cut-off (training period only)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from olist_recommender.config import JobConfig

log = logging.getLogger(__name__)


@dataclass
class Split:
    cutoff: dt.date
    train: DataFrame  # purchases before the cut-off (item grain)
    test: DataFrame  # (customer_unique_id, product_id) first bought in [cutoff, cutoff + window), not bought before
    test_users: DataFrame  # customer_unique_id, user_group ('warm' = has training purchases, 'cold' = none)


def default_cutoffs(purchases: DataFrame, config: JobConfig) -> list[dt.date]:
    """Rolling origin: n cut-offs spaced by the test window, the last window ending where the data thins out.

    The end is the 99.9th percentile of purchase time, not the maximum: the real Olist data trails off into a
    handful of orders in its last weeks (Sep-Oct 2018), which would make the last test window nearly empty.
    """
    if config.cutoffs:
        return sorted(dt.date.fromisoformat(c) for c in config.cutoffs)
    end = purchases.select(F.percentile_approx(F.unix_timestamp("purchased_at"), 0.999).alias("t")).first().t
    end_date = dt.datetime.fromtimestamp(end, dt.UTC).date()
    window = dt.timedelta(days=config.test_window_days)
    return [end_date - window * i for i in range(config.n_cutoffs, 0, -1)]


def validation_cutoff(cutoffs: list[dt.date], config: JobConfig) -> dt.date:
    """Hyperparameters are tuned on the window just before the first cut-off: inside every training period."""
    return cutoffs[0] - dt.timedelta(days=config.test_window_days)


def make_split(
    purchases: DataFrame,
    cutoff: dt.date,
    window_days: int,
    *,
    bought: DataFrame | None = None,
    buyers: DataFrame | None = None,
) -> Split:
    """The purchases before the cut-off, and the test pairs and users of the window after it.

    `bought` and `buyers`: the training period's distinct (customer_unique_id, product_id) pairs and customers, where
    the caller holds them cached (the job's training interactions and their customers); by default they are found
    in the purchases (10x, a cut-off's test pairs and users: 3.7 s so, 2.2-2.6 s from the cached interactions)."""
    start = F.lit(cutoff.isoformat()).cast("timestamp")
    end = F.lit((cutoff + dt.timedelta(days=window_days)).isoformat()).cast("timestamp")
    train = purchases.where(F.col("purchased_at") < start)
    window = purchases.where((F.col("purchased_at") >= start) & (F.col("purchased_at") < end))
    seen = bought if bought is not None else train.select("customer_unique_id", "product_id").distinct()
    # already-bought products are never recommended, so they cannot be test targets either
    test = (
        window.select("customer_unique_id", "product_id")
        .distinct()
        .join(seen, ["customer_unique_id", "product_id"], "left_anti")
    )
    known = buyers if buyers is not None else train.select("customer_unique_id").distinct()
    train_users = known.select("customer_unique_id").withColumn("has_history", F.lit(True))
    test_users = (
        test.select("customer_unique_id")
        .distinct()
        .join(train_users, "customer_unique_id", "left")
        .select(
            "customer_unique_id",
            F.when(F.col("has_history"), F.lit("warm")).otherwise(F.lit("cold")).alias("user_group"),
        )
    )
    return Split(cutoff=cutoff, train=train, test=test, test_users=test_users)


def interactions_from_purchases(purchases: DataFrame, config: JobConfig) -> DataFrame:
    """(customer, product) interactions with the same formulas as dbt's customer_product_interactions.

    Per (customer, product): purchase_count = orders, monetary_value = sum of prices, mean_review_score = the mean
    over those orders of each order's review (a mean over orders, not items, as dbt's int_customer_products_aggregated);
    implicit_confidence = frequency_weight * purchase_count + monetary_weight * ln(1 + monetary_value);
    explicit_rating = customer's mean review of those orders, else the product's mean, else the global mean (3.0 in a
    period without a review).
    """
    # one shuffle serves both aggregations: with the rows partitioned by (customer, product), every order of a pair
    # is in one partition, and Spark aggregates orders into pairs there; grouped by order first, it shuffled the
    # order-grain rows again (10x, a cut-off's 800k purchases: 5.9-6.2 s -> 4.2-4.5 s; 1x 1.2-1.6 -> 0.9-1.1 s)
    per_order = (
        purchases.repartition("customer_unique_id", "product_id")
        .groupBy("customer_unique_id", "product_id", "order_id")
        .agg(
            F.sum("price").alias("order_value"),
            F.max("review_score").alias("review_score"),
            F.min("product_category_name_english").alias("product_category_name_english"),
            F.min("purchased_at").alias("purchased_at"),
        )
    )
    per_pair = per_order.groupBy("customer_unique_id", "product_id").agg(
        F.count("*").alias("purchase_count"),
        F.sum("order_value").cast("double").alias("monetary_value"),
        F.avg("review_score").alias("mean_review_score"),
        F.min("product_category_name_english").alias("product_category_name_english"),
        F.max("purchased_at").alias("last_purchased_at"),
    )
    # the product's and the global mean review in the same query as the pairs: the global mean as a job of its own
    # (`first()`) aggregated the training period's purchases once more, at every cut-off (10x: 7.5 -> 5.5 s each)
    product_mean = F.avg("mean_review_score").over(Window.partitionBy("product_id"))
    global_mean = per_pair.agg(F.avg("mean_review_score").alias("global_mean_rating"))
    return (
        per_pair.withColumn("product_mean_rating", product_mean)
        .crossJoin(F.broadcast(global_mean))
        .select(
            "product_id",
            "customer_unique_id",
            "purchase_count",
            "monetary_value",
            "mean_review_score",
            "product_category_name_english",
            "last_purchased_at",
            F.round(
                F.lit(config.frequency_weight) * F.col("purchase_count")
                + F.lit(config.monetary_weight) * _log_transform(F.col("monetary_value")),
                6,
            ).alias("implicit_confidence"),
            # no review at all in the period: 3.0, the middle of the scale
            F.coalesce(
                F.col("mean_review_score"), F.col("product_mean_rating"), F.col("global_mean_rating"), F.lit(3.0)
            ).alias("explicit_rating"),
        )
    )


def _log_transform(column: Column) -> Column:
    """ln(1 + max(x, 0)), as dbt's log_transform macro (the same expression, so the same doubles)."""
    return F.log(F.lit(1.0) + F.greatest(column, F.lit(0.0)))


def rfm_segments_at(train: DataFrame, rfm_segments: DataFrame) -> DataFrame:
    """Customer segments from the training period only, scored as dbt's customer_rfm (percent-rank quintiles): the
    monetary value is what the customer paid (fct_order_items.paid_value, summed per order), capped at its 99th
    percentile."""
    as_of = train.select(F.max("purchased_at")).first()[0]
    # as dbt's int_customers_aggregated: order values first, then per customer
    # one shuffle by customer serves both aggregations, as in interactions_from_purchases (10x 5.6-6.1 -> 4.7-5.2 s)
    per_order = (
        train.repartition("customer_unique_id")
        .groupBy("customer_unique_id", "order_id")
        .agg(
            F.sum("paid_value").alias("order_value"),
            F.min("purchased_at").alias("purchased_at"),
        )
    )
    per_customer = per_order.groupBy("customer_unique_id").agg(
        F.datediff(F.lit(as_of), F.max("purchased_at")).alias("recency_days"),
        F.count("*").alias("order_count"),
        F.sum("order_value").alias("monetary_value"),
    )
    cap = per_customer.select(F.percentile_approx("monetary_value", 0.99, 10000)).first()[0]

    def score(column: str, ascending: bool = True):
        order = F.col(column).asc() if ascending else F.col(column).desc()
        rank = F.percent_rank().over(Window.orderBy(order))
        return F.least(F.lit(5), F.lit(1) + F.floor(rank * 5).cast("int"))

    scored = per_customer.withColumn(
        "monetary_log", _log_transform(F.least(F.col("monetary_value"), F.lit(float(cap))))
    ).select(
        "customer_unique_id",
        score("recency_days", ascending=False).alias("r"),
        score("order_count").alias("f"),
        score("monetary_log").alias("m"),
    )
    s = rfm_segments
    matched = scored.join(
        F.broadcast(s),
        F.col("r").between(s.recency_score_min, s.recency_score_max)
        & F.col("f").between(s.frequency_score_min, s.frequency_score_max)
        & F.col("m").between(s.monetary_score_min, s.monetary_score_max),
    )
    best = Window.partitionBy("customer_unique_id").orderBy("priority")
    return (
        matched.withColumn("match_rank", F.row_number().over(best))
        .where("match_rank = 1")
        .select("customer_unique_id", "segment")
    )
