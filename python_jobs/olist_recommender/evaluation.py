"""Ranking metrics at K, per user, with bootstrap intervals; means cross-checked with Spark's RankingEvaluator.

Definitions (as pyspark.ml.evaluation.RankingEvaluator / RankingMetrics; binary relevance):
- precision@k = hits in the top k / k              - recall@k = hits in the top k / |relevant|
- hit_rate@k  = 1 if any hit in the top k else 0   - ndcg@k   = DCG@k / ideal DCG@min(|relevant|, k)
- map@k       = sum over hit positions i <= k of (hits so far / i), / min(|relevant|, k)
- coverage@k  = distinct products recommended in the top k to the group / products in the training catalogue
A test user without predictions scores 0 on every metric (a miss), never dropped.
"""

from __future__ import annotations

import logging
import math
from array import array
from dataclasses import dataclass, field

import numpy as np
from pyspark.ml.evaluation import RankingEvaluator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

log = logging.getLogger(__name__)

METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")
EVALUATOR_METRIC = {
    "precision": "precisionAtK",
    "recall": "recallAtK",
    "ndcg": "ndcgAtK",
    "map": "meanAveragePrecisionAtK",
}


def user_metrics(predicted: list, relevant: set, k: int) -> dict[str, float]:
    top = predicted[:k]
    hits = [1.0 if p in relevant else 0.0 for p in top]
    n_rel = len(relevant)
    if n_rel == 0:
        return {m: 0.0 for m in METRICS}
    dcg = sum(h / math.log(i + 2) for i, h in enumerate(hits))
    idcg = sum(1.0 / math.log(i + 2) for i in range(min(n_rel, k)))
    ap, seen = 0.0, 0
    for i, h in enumerate(hits):
        if h:
            seen += 1
            ap += seen / (i + 1)
    return {
        "precision": sum(hits) / k,
        "recall": sum(hits) / n_rel,
        "ndcg": dcg / idcg,
        "map": ap / min(n_rel, k),
        "hit_rate": 1.0 if sum(hits) > 0 else 0.0,
    }


@dataclass
class GroupResult:
    """Per-user metric matrix for one (model, cut-off, user group): rows users, columns (k, metric)."""

    values: np.ndarray
    columns: list[tuple[int, str]]
    coverage: dict[int, float]
    n_users: int


def evaluation_frame(
    recommendations: DataFrame,
    test: DataFrame,
    test_users: DataFrame,
    product_codes: DataFrame,
    models: list[str] | None = None,
) -> DataFrame:
    """One row per (model, test user): user_group, prediction (ranked product codes, empty if none), label.

    `recommendations` holds the ranked lists of any number of models (column `model`; without it, one model named
    ""), so every model of a cut-off is evaluated by one Spark query. Every model in `models` gets a row per test
    user, also a model that recommended nothing.
    """
    if "model" not in recommendations.columns:
        recommendations = recommendations.withColumn("model", F.lit(""))
    names = models if models is not None else [""]
    model_names = test_users.sparkSession.createDataFrame([(m,) for m in names], "model string")
    pred = (
        recommendations.join(product_codes, "product_id")
        .groupBy("model", "customer_unique_id")
        .agg(F.sort_array(F.collect_list(F.struct("rank", "product_code"))).alias("_ranked"))
        .select("model", "customer_unique_id", F.col("_ranked.product_code").alias("prediction"))
    )
    label = (
        test.join(product_codes, "product_id", "left")
        .withColumn("product_code", F.coalesce("product_code", F.lit(-1.0)))  # unseen products still count as relevant
        .groupBy("customer_unique_id")
        .agg(F.collect_set("product_code").alias("label"))
    )
    return (
        test_users.join(label, "customer_unique_id")
        .crossJoin(F.broadcast(model_names))
        .join(pred, ["model", "customer_unique_id"], "left")
        .select(
            "model",
            "customer_unique_id",
            "user_group",
            F.coalesce("prediction", F.array().cast("array<double>")).alias("prediction"),
            F.col("label").cast("array<double>").alias("label"),
        )
    )


def evaluate_groups(
    frame: DataFrame, ks: list[int], catalogue_size: int, models: list[str] | None = None
) -> dict[str, dict[str, GroupResult]]:
    """model -> user group -> per-user metrics of an evaluation_frame (no test users: empty results).

    Rows stream to the driver a partition at a time (toLocalIterator) and are reduced at once to their metric
    values and the coverage sets, so the driver never holds every ranked list (10x scale: about a million). The
    values are kept in flat arrays, a customer id once for all models: at 10x (127k test users x 8 models) a tuple
    of Python floats per (model, user) held 2.5 GB in the driver.
    Users are put in id order here, not by a Spark sort, so the bootstrap sees the same order on every run.
    """
    columns = [(k, m) for k in ks for m in METRICS]
    names = models if models is not None else [""]
    user_index: dict[str, int] = {}
    kept = {m: _ModelRows() for m in names}
    covered: dict[str, dict[str, dict[int, set]]] = {}
    for r in frame.toLocalIterator(prefetchPartitions=True):
        predicted, relevant = list(r.prediction), set(r.label)
        rows = kept.setdefault(r.model, _ModelRows())
        rows.users.append(user_index.setdefault(r.customer_unique_id, len(user_index)))
        rows.is_warm.append(r.user_group == "warm")
        for k in ks:
            rows.values.extend(_metric_values(predicted, relevant, k))
        model_covered = covered.setdefault(r.model, {g: {k: set() for k in ks} for g in ("warm", "cold", "all")})
        for k in ks:
            model_covered[r.user_group][k].update(predicted[:k])
            model_covered["all"][k].update(predicted[:k])
    # each user's place in id order, computed once for every model
    ids = list(user_index)
    id_rank = np.empty(len(ids), dtype=np.int64)
    id_rank[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids))
    results: dict[str, dict[str, GroupResult]] = {}
    for model, rows in kept.items():
        order = np.argsort(id_rank[np.frombuffer(rows.users, dtype=np.int64)], kind="stable")
        values = np.frombuffer(rows.values, dtype=float).reshape(len(rows.users), len(columns))[order]
        is_warm = np.frombuffer(rows.is_warm, dtype=bool)[order]
        model_covered = covered.get(model, {})
        results[model] = {}
        for group in ("warm", "cold", "all"):
            member = np.ones(len(order), dtype=bool) if group == "all" else is_warm == (group == "warm")
            coverage = {k: len(model_covered.get(group, {}).get(k, ())) / max(catalogue_size, 1) for k in ks}
            results[model][group] = GroupResult(
                values=values[member], columns=columns, coverage=coverage, n_users=int(member.sum())
            )
    return results


@dataclass
class _ModelRows:
    """One model's evaluated users, in arrival order: user (index into the ids), warm or not, metric values."""

    users: array = field(default_factory=lambda: array("q"))
    is_warm: bytearray = field(default_factory=bytearray)
    values: array = field(default_factory=lambda: array("d"))


def _metric_values(predicted: list, relevant: set, k: int) -> tuple[float, ...]:
    metrics = user_metrics(predicted, relevant, k)
    return tuple(metrics[m] for m in METRICS)


def evaluate_one(frame: DataFrame, k: int, metric: str) -> tuple[float, int]:
    """The mean of one metric at one k over all users of a single-model evaluation_frame, and the user count."""
    result = evaluate_groups(frame, [k], 1)[""]["all"]
    if not result.n_users:
        return 0.0, 0
    return float(result.values[:, result.columns.index((k, metric))].mean()), result.n_users


def spark_means(frame: DataFrame, ks: list[int]) -> dict[tuple[int, str], float]:
    """The same means computed by pyspark.ml.evaluation.RankingEvaluator, for every metric it has."""
    out: dict[tuple[int, str], float] = {}
    for k in ks:
        for metric, spark_name in EVALUATOR_METRIC.items():
            evaluator = RankingEvaluator(predictionCol="prediction", labelCol="label", metricName=spark_name, k=k)
            out[(k, metric)] = float(evaluator.evaluate(frame))
    return out


# bootstrap samples drawn and averaged per chunk: the driver holds the weights as uint16 and at most this many
# samples as int64/float64 at once (10x: 127k users x 500 samples is 0.5 GB as float64, 0.13 GB as uint16)
BOOTSTRAP_CHUNK = 50


def bootstrap_weights(n: int, samples: int, seed: int) -> np.ndarray:
    """samples x n resampling weights: how often each of n users is drawn (with replacement) in each sample.

    Every model of a cut-off is evaluated on the same users, so one draw serves all of them (a paired bootstrap);
    drawing it once per user group, not once per model, is most of the bootstrap's cost at 10x. Drawn in chunks of
    samples from one generator: the same draws as a single call."""
    rng = np.random.default_rng(seed)
    weights = np.zeros((samples, n), dtype=np.uint16)
    if n == 0:
        return weights
    p = np.full(n, 1.0 / n)
    for start in range(0, samples, BOOTSTRAP_CHUNK):
        chunk = rng.multinomial(n, p, size=min(BOOTSTRAP_CHUNK, samples - start))
        if chunk.max() > np.iinfo(np.uint16).max:  # a user drawn 65,536 times: impossible in practice
            raise OverflowError(f"bootstrap weight {chunk.max()} does not fit uint16")
        weights[start : start + len(chunk)] = chunk
    return weights


def bootstrap_means(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """samples x columns matrix of resampled means of the rows of `values` (users), for `bootstrap_weights`."""
    n = values.shape[0]
    if weights.shape[1] != n:
        raise ValueError(f"bootstrap weights for {weights.shape[1]} users, values for {n}")
    means = np.zeros((weights.shape[0], values.shape[1]))
    if n == 0:
        return means
    for start in range(0, len(weights), BOOTSTRAP_CHUNK):
        means[start : start + BOOTSTRAP_CHUNK] = weights[start : start + BOOTSTRAP_CHUNK].astype(float) @ values / n
    return means
