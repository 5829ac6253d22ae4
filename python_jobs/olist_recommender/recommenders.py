"""Recommenders. Each produces scored candidates; `top_k` removes bought products, falls back, and ranks.

Candidates are DataFrames (customer_unique_id, product_id, score). `top_k` takes candidate sources in priority
order: a customer's list is filled from the first source, then the next, so every customer with a fallback gets
exactly k products, each tagged with the source that produced it. No users x items cross join is built: ALS
scores are numpy matrix products over blocks of users next to the data, against broadcast item factors, keeping
only each user's best n (`top_n_by_dot_product`); a popularity list is cut for each customer to k + the products
that customer has bought (`list_lengths`: the most that removing bought products can take from it), so most
customers, who bought one product, carry k + 1 candidates from it, not k + the deepest history.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, DoubleType, LongType, StringType, StructField, StructType
from pyspark.sql.window import Window

from olist_recommender.config import JobConfig

log = logging.getLogger(__name__)

USER, ITEM = "customer_unique_id", "product_id"


@dataclass
class TrainingData:
    """What a model may know: purchases before `as_of`, their interactions and the customers' segments."""

    purchases: DataFrame
    interactions: DataFrame  # customer_unique_id, product_id, implicit_confidence, explicit_rating, category
    segments: DataFrame | None  # customer_unique_id, segment; None where no model reads them (the ALS tuning)
    as_of: dt.datetime

    def bought(self) -> DataFrame:
        return self.interactions.select(USER, ITEM)

    @cached_property
    def history_sizes(self) -> DataFrame:
        """customer_unique_id, n_bought: the distinct products each customer has bought (cached)."""
        return self.interactions.groupBy(USER).agg(F.count("*").alias("n_bought")).cache()

    @cached_property
    def depth(self) -> int:
        """The most distinct products one customer has bought (how far past k a shared list must reach)."""
        return int(self.history_sizes.agg(F.max("n_bought")).first()[0] or 0)

    @cached_property
    def popularity(self) -> DataFrame:
        return global_popularity(self).cache()

    def release(self) -> None:
        """Unpersist what this data cached (interactions, segments and the memoised frames below)."""
        for name in ("popularity", "history_sizes", "user_index", "item_index", "indexed_ratings"):
            if name in self.__dict__:
                self.__dict__[name].unpersist()
        self.interactions.unpersist()
        if self.segments is not None:
            self.segments.unpersist()

    @cached_property
    def user_index(self) -> DataFrame:
        """customer_unique_id, user_index (0..n-1): ALS's integer ids, shared by every fit on this data."""
        return _index(self.interactions, USER, "user_index").cache()

    @cached_property
    def item_index(self) -> DataFrame:
        return _index(self.interactions, ITEM, "item_index").cache()

    @cached_property
    def indexed_ratings(self) -> DataFrame:
        """user_index, item_index, implicit_confidence, explicit_rating: indexed once, cached for every ALS fit."""
        return (
            self.interactions.join(self.user_index, USER)
            .join(self.item_index, ITEM)
            .select("user_index", "item_index", "implicit_confidence", "explicit_rating")
            .cache()
        )


# ------------------------------------------------------------------------------------------ product lists


def global_popularity(data: TrainingData) -> DataFrame:
    """product_id, score = distinct buyers."""
    return data.interactions.groupBy(ITEM).agg(F.countDistinct(USER).cast("double").alias("score"))


def recent_popularity(data: TrainingData, half_life_days: float) -> DataFrame:
    """product_id, score = sum over purchases of 0.5 ** (age in days / half-life)."""
    age = (F.lit(data.as_of).cast("long") - F.col("purchased_at").cast("long")) / 86400.0
    return data.purchases.groupBy(ITEM).agg(F.sum(F.pow(F.lit(0.5), age / half_life_days)).alias("score"))


def _top(products: DataFrame, n: int, partition: str | None = None) -> DataFrame:
    """The n best products by score (of each `partition` value), ties to the lower id, with their rank `_r`."""
    w = (Window.partitionBy(partition) if partition else Window.partitionBy()).orderBy(F.desc("score"), ITEM)
    return products.withColumn("_r", F.row_number().over(w)).where(F.col("_r") <= n)


def list_lengths(data: TrainingData, users: DataFrame, k: int) -> DataFrame:
    """customer_unique_id, list_length = k + the products the user has bought (0 for a user without history).

    A ranked list shared by many users (global, recent, segment, a category's) fills a user's top k once their bought
    products are removed from it, and whatever earlier sources already took, if it holds list_length products: of
    the products ranked above the last one the user gets, at most n_bought were bought and the rest are in the list.
    """
    sizes = users.select(USER).join(data.history_sizes, USER, "left")
    return sizes.select(USER, (F.lit(k) + F.coalesce(F.col("n_bought"), F.lit(0))).cast("int").alias("list_length"))


def for_everyone(lengths: DataFrame, products: DataFrame, n: int) -> DataFrame:
    """The same ranked product list for every user of `lengths` (`list_lengths`), cut to each user's list_length
    (at most n): a broadcast of n rows, not a catalogue cross join."""
    return (
        lengths.crossJoin(F.broadcast(_top(products, n)))
        .where(F.col("_r") <= F.col("list_length"))
        .select(USER, ITEM, "score")
    )


# ------------------------------------------------------------------------------------------ per-customer candidates


def category_popularity(data: TrainingData, lengths: DataFrame, n: int) -> DataFrame:
    """Popular products of the categories the customer bought, their most-bought category first: the n best of each
    category, and `is_within_length` where the product's rank in its category is within the user's list_length.

    Only those are needed to fill a top k (as with a shared list: whatever a user gets from a category, the products
    ranked above it there are bought, taken by earlier sources, or given before it); a consumer that needs the whole
    list, the ALS blend's rank fusion, keeps all n.
    """
    per_category = data.interactions.groupBy("product_category_name_english", ITEM).agg(
        F.countDistinct(USER).cast("double").alias("score")
    )
    top_per_category = _top(per_category, n, partition="product_category_name_english")
    max_score = top_per_category.agg(F.max("score")).first()[0] or 1.0
    return (
        _user_categories(data, lengths)
        .join(top_per_category, "product_category_name_english")
        .select(
            USER,
            ITEM,
            (F.col("category_weight") + F.col("score") / (max_score + 1.0)).alias("score"),
            (F.col("_r") <= F.col("list_length")).alias("is_within_length"),
        )
    )


def _user_categories(data: TrainingData, lengths: DataFrame) -> DataFrame:
    """customer_unique_id, list_length, product_category_name_english, category_weight (products bought in it)."""
    return (
        data.interactions.join(lengths, USER)
        .groupBy(USER, "list_length", "product_category_name_english")
        .agg(F.count("*").alias("category_weight"))
    )


def category_shortfall(data: TrainingData, lengths: DataFrame) -> DataFrame:
    """The users of `lengths` whose category-popularity list may not fill their top k, with their list_length.

    A user's list holds, within their list_length, the sum over the categories they bought of min(products in the
    category, list_length) products, of which at most n_bought = list_length - k are bought: when that sum reaches
    list_length, k products remain and a source after it is never reached. Only the others (and users without
    history) need the global list after it, a fraction of all users: each holds list_length rows of it otherwise.
    """
    sizes = data.interactions.groupBy("product_category_name_english").agg(F.countDistinct(ITEM).alias("_size"))
    filled = (
        _user_categories(data, lengths)
        .join(sizes, "product_category_name_english")
        .groupBy(USER, "list_length")
        .agg(F.sum(F.least("_size", "list_length")).alias("_held"))
        .where(F.col("_held") >= F.col("list_length"))
    )
    return lengths.join(filled, USER, "left_anti")


def customers_by_bought_set(data: TrainingData, customers: DataFrame) -> DataFrame:
    """customer_unique_id, representative_id: the lowest customer id among those who bought exactly the same set of
    products (customers without history share the empty set).

    A model whose lists read nothing of a customer but the products bought (category popularity and co-purchase,
    `RANKED_PER_BOUGHT_SET` in the job) gives every customer of a set the representative's list. On the generated
    10x data the 949k customers with a history bought 370k distinct sets."""
    sets = data.interactions.groupBy(USER).agg(F.array_sort(F.collect_list(ITEM)).alias("_set"))
    empty = F.array().cast(sets.schema["_set"].dataType)
    keyed = customers.select(USER).join(sets, USER, "left").select(USER, F.coalesce("_set", empty).alias("_set"))
    representative = F.min(USER).over(Window.partitionBy("_set"))
    return keyed.select(USER, representative.alias("representative_id"))


def within_length(candidates: DataFrame) -> DataFrame:
    """The candidates a top k can use (`is_within_length`, see `category_popularity`)."""
    return candidates.where("is_within_length").select(USER, ITEM, "score")


def segment_popularity(data: TrainingData, lengths: DataFrame, n: int) -> DataFrame:
    """Popular products among customers of the customer's RFM segment, cut to each user's list_length (at most n)."""
    if data.segments is None:
        raise ValueError("segment_popularity needs the customers' segments: this training data was made without them")
    per_segment = (
        data.interactions.join(data.segments, USER)
        .groupBy("segment", ITEM)
        .agg(F.countDistinct(USER).cast("double").alias("score"))
    )
    top_per_segment = _top(per_segment, n, partition="segment")
    return (
        lengths.join(data.segments, USER)
        .join(top_per_segment, "segment")
        .where(F.col("_r") <= F.col("list_length"))
        .select(USER, ITEM, "score")
    )


def co_purchase(data: TrainingData, users: DataFrame) -> DataFrame:
    """Item-item: products bought by customers who bought the customer's products, cosine-normalised."""
    pairs_src = data.interactions.select(USER, ITEM)
    buyers = pairs_src.groupBy(ITEM).agg(F.count("*").alias("buyers"))
    a, b = pairs_src.alias("a"), pairs_src.alias("b")
    co = (
        a.join(b, (F.col("a." + USER) == F.col("b." + USER)) & (F.col("a." + ITEM) != F.col("b." + ITEM)))
        .groupBy(F.col("a." + ITEM).alias("seed_product"), F.col("b." + ITEM).alias(ITEM))
        .agg(F.count("*").alias("together"))
        .join(buyers.withColumnRenamed(ITEM, "seed_product").withColumnRenamed("buyers", "seed_buyers"), "seed_product")
        .join(buyers, ITEM)
        .select("seed_product", ITEM, (F.col("together") / F.sqrt(F.col("seed_buyers") * F.col("buyers"))).alias("sim"))
    )
    seeds = pairs_src.join(users.select(USER), USER, "left_semi").withColumnRenamed(ITEM, "seed_product")
    return seeds.join(co, "seed_product").groupBy(USER, ITEM).agg(F.sum("sim").alias("score"))


# ------------------------------------------------------------------------------------------ ALS


@dataclass
class AlsFit:
    model: ALSModel
    user_index: DataFrame  # customer_unique_id, user_index
    item_index: DataFrame  # product_id, item_index
    params: dict

    @cached_property
    def item_factors(self) -> tuple[np.ndarray, np.ndarray]:
        """product ids and their factor rows (items x rank, float32): collected once per fit, for every scoring."""
        rows = (
            self.model.itemFactors.join(self.item_index, F.col("id") == F.col("item_index"))
            .select(ITEM, "features")
            .orderBy(ITEM)
            .toPandas()
        )
        if not len(rows):
            return rows[ITEM].to_numpy(dtype=object), np.zeros((0, self.model.rank), dtype=np.float32)
        return rows[ITEM].to_numpy(dtype=object), np.vstack(rows["features"].to_numpy()).astype(np.float32)


def _index(df: DataFrame, column: str, name: str) -> DataFrame:
    return df.select(column).distinct().withColumn(name, (F.dense_rank().over(Window.orderBy(column)) - 1).cast("int"))


def als_blocks(spark: SparkSession, config: JobConfig) -> int:
    """User and item blocks of an ALS fit: `als_blocks`, or one per core (Spark's default parallelism)."""
    return config.als_blocks or spark.sparkContext.defaultParallelism


def fit_als(data: TrainingData, params: dict, implicit: bool, config: JobConfig, rating_column: str) -> AlsFit:
    ratings = data.indexed_ratings.select(
        "user_index", "item_index", F.col(rating_column).cast("float").alias("rating")
    )
    blocks = als_blocks(data.interactions.sparkSession, config)
    als = ALS(
        userCol="user_index",
        itemCol="item_index",
        ratingCol="rating",
        implicitPrefs=implicit,
        rank=int(params["rank"]),
        regParam=float(params["reg_param"]),
        alpha=float(params.get("alpha", 1.0)),
        maxIter=int(params["max_iter"]),
        seed=config.seed,
        coldStartStrategy="drop",
        checkpointInterval=config.checkpoint_interval,
        numUserBlocks=blocks,
        numItemBlocks=blocks,
        # unconstrained least squares (Cholesky): the non-negative solver (NNLS) took 3x as long (implicit, rank 16,
        # 100k ratings: 44 s vs 13 s)
        nonnegative=False,
    )
    return AlsFit(model=als.fit(ratings), user_index=data.user_index, item_index=data.item_index, params=params)


# scores held at once per block of users in `top_n_by_dot_product` (users in a block = this / 4 bytes / items)
SCORE_BLOCK_BYTES = 32 * 2**20


def row_top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and value of each row's n largest scores, best first, ties to the lower column (1 <= n <= columns).

    A bound first: the n-th largest of the maxima of 512 column groups is at most a row's n-th largest score, so
    `scores >= bound` keeps every winner and few others; only those are sorted. About 3x faster than argpartition
    over all columns, and deterministic on ties.
    """
    rows, columns = scores.shape
    size = max(1, columns // 512)
    whole = columns - columns % size
    maxima = scores[:, :whole].reshape(rows, size, whole // size).max(axis=1)
    if whole < columns:
        maxima = np.concatenate([maxima, scores[:, whole:]], axis=1)
    groups = maxima.shape[1]
    bound = np.partition(maxima, groups - n, axis=1)[:, groups - n] if groups >= n else scores.min(axis=1)
    flat = np.flatnonzero(scores >= bound[:, None])
    row, column = np.divmod(flat, columns)
    value = scores.ravel()[flat]
    order = np.lexsort((column, -value, row))
    row, column, value = row[order], column[order], value[order]
    keep = np.arange(len(row)) - np.searchsorted(row, row) < n
    return row[keep], column[keep], value[keep]


def top_n_by_dot_product(
    user_factors: DataFrame, user_column: str, item_ids: np.ndarray, item_factors: np.ndarray, item_column: str, n: int
) -> DataFrame:
    """<user_column>, <item_column>, score: each user's n items with the highest factor dot product.

    `user_factors` has <user_column> and `features` (array<float>, ALS's factor rows); the items are the rows of
    `item_factors` (items x rank, float32), named by `item_ids`. The item factors are broadcast once; each task
    multiplies blocks of its users by them in numpy (BLAS float32) and keeps the n best per row (`row_top_n`), so
    neither a users x items table nor a sort of all scores is ever built. Memory per task: one block of scores
    (SCORE_BLOCK_BYTES) plus the item factors (4 x rank bytes per item).
    """
    spark = user_factors.sparkSession
    schema = StructType(
        [
            user_factors.schema[user_column],
            StructField(item_column, _spark_type(item_ids)),
            StructField("score", DoubleType()),
        ]
    )
    take = min(n, len(item_ids))
    if take <= 0:
        return spark.createDataFrame([], schema)
    factors_t = np.ascontiguousarray(np.asarray(item_factors, dtype=np.float32).T)
    shared = spark.sparkContext.broadcast((np.asarray(item_ids), factors_t))
    block = max(1, SCORE_BLOCK_BYTES // (4 * len(item_ids)))

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        ids, items = shared.value
        for batch in batches:
            if batch.empty:
                continue
            keys = batch[user_column].to_numpy()
            users = np.vstack(batch["features"].to_numpy()).astype(np.float32, copy=False)
            for start in range(0, len(users), block):
                row, column, value = row_top_n(users[start : start + block] @ items, take)
                yield pd.DataFrame(
                    {user_column: keys[start + row], item_column: ids[column], "score": value.astype(np.float64)}
                )

    return user_factors.select(user_column, "features").mapInPandas(score, schema)


def _spark_type(values: np.ndarray) -> DataType:
    kind = np.asarray(values).dtype.kind
    return LongType() if kind in "iu" else DoubleType() if kind == "f" else StringType()


def als_candidates(fit: AlsFit, users: DataFrame, n: int) -> DataFrame:
    """Top-n ALS scores for the customers the model knows (others get none: cold start)."""
    known = (
        users.select(USER)
        .join(fit.user_index, USER)
        .join(fit.model.userFactors, F.col("user_index") == F.col("id"))
        .select(USER, "features")
    )
    item_ids, factors = fit.item_factors
    return top_n_by_dot_product(known, USER, item_ids, factors, ITEM, n)


def blend(first: DataFrame, second: DataFrame, weight: float) -> DataFrame:
    """Reciprocal-rank fusion: weight / (60 + rank in first) + (1 - weight) / (60 + rank in second)."""

    def rr(df: DataFrame, w: float) -> DataFrame:
        rank = F.row_number().over(Window.partitionBy(USER).orderBy(F.desc("score"), ITEM))
        return df.withColumn("score", F.lit(w) / (F.lit(60.0) + rank))

    return (
        rr(first, weight).unionByName(rr(second, 1.0 - weight)).groupBy(USER, ITEM).agg(F.sum("score").alias("score"))
    )


# ------------------------------------------------------------------------------------------ ranking


def top_k(users: DataFrame, sources: list[tuple[str, DataFrame]], bought: DataFrame, k: int) -> DataFrame:
    """customer_unique_id, rank (1..k), product_id, score, source: the first sources fill first, never a bought product.

    Within a source, candidates go by score; a source frame that is already a ranked list (an earlier top_k result,
    with `rank` and `source` columns) keeps its own order and tags, whatever the scales of its scores.
    """
    parts = [
        df.select(
            USER, ITEM, F.col("score").cast("double"), F.lit(i).alias("_p"),
            F.col("rank").alias("_r") if "rank" in df.columns else F.lit(None).cast("int").alias("_r"),
            F.col("source") if "source" in df.columns else F.lit(name).alias("source"),
        )
        for i, (name, df) in enumerate(sources)
    ]  # fmt: skip
    candidates = parts[0]
    for part in parts[1:]:
        candidates = candidates.unionByName(part)
    # one shuffle by customer serves both windows below (each would otherwise shuffle on its own keys)
    candidates = (
        candidates.join(users.select(USER), USER, "left_semi").join(bought, [USER, ITEM], "left_anti").repartition(USER)
    )
    within = ["_p", F.asc_nulls_last("_r"), F.desc("score")]
    best_source = Window.partitionBy(USER, ITEM).orderBy(*within)
    order = Window.partitionBy(USER).orderBy(*within, ITEM)
    return (
        candidates.withColumn("_b", F.row_number().over(best_source))
        .where("_b = 1")
        .withColumn("rank", F.row_number().over(order))
        .where(F.col("rank") <= k)
        .select(USER, "rank", ITEM, "score", "source")
    )
