"""Spark ALS vs the `implicit` library, and the job's top-K for all users vs a numpy matrix-multiply floor.

Run by bench.py after the marts are built (it sets OLIST_WAREHOUSE_DIR to the scale's warehouse). Same interaction
matrix for both libraries: the training period of the job's last rolling cut-off, r = the job's
implicit_confidence; users and items indexed once; same rank, regularization, iterations, 2 cores each. The same
confidence too: Spark weighs an observed pair 1 + alpha * r, and implicit weighs it by the matrix value (times its
own alpha), so implicit is given 1 + alpha * r with its alpha at 1. What still differs is stated, not hidden: Spark
scales the regularization by each user's / item's number of ratings (ALS-WR), implicit's is plain L2 (the same for
a user with one rating, most of them here); Spark solves each least-squares system exactly (Cholesky), implicit
with a few conjugate-gradient steps.
P@K: the warm test users of that cut-off (bought before it and new products in the 60 days after), already
bought products excluded, K recommendations each. Whether the two P@K are equal is judged, not eyeballed: a paired
bootstrap over those users gives a 95% interval of the difference, and they count as equal when it holds 0.
Fit times: each library fits --fits times in a row in its process and its fastest fit counts (implicit's
consecutive fits vary up to 3x here; Spark's first fit also pays for the JIT compiling the ALS code, which the job's
later fits do not; see benchmarks/RESULTS.md).
Top-K for all users: the job's own scoring (`top_n_by_dot_product`: numpy blocks against broadcast item factors)
on the Spark model's factors, and, for reference, Spark's built-in `recommendForUserSubset` on the same users.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import time

import numpy as np

from olist_recommender.config import JobConfig
from olist_recommender.data import read_inputs
from olist_recommender.evaluation import bootstrap_means, bootstrap_weights
from olist_recommender.recommenders import als_blocks, top_n_by_dot_product
from olist_recommender.spark import spark_session
from olist_recommender.split import default_cutoffs, interactions_from_purchases, make_split

log = logging.getLogger("compare")


def user_precisions(recommended: dict[int, list[int]], relevant: dict[int, set[int]], k: int) -> np.ndarray:
    """P@k of each user of `relevant`, in the order of its keys (a user without a list scores 0)."""
    return np.array([len(set(recommended.get(u, [])[:k]) & items) / k for u, items in relevant.items()], dtype=float)


def bootstrap_intervals(columns: list[np.ndarray], samples: int, seed: int) -> list[tuple[float, float]]:
    """95% percentile interval of the mean of each column (one value per user), all resampled by the same draws of
    users as the job's evaluation resamples its models (paired); (0, 0) without users."""
    values = np.column_stack(columns)
    means = bootstrap_means(values, bootstrap_weights(len(values), samples, seed))
    if not len(values):
        return [(0.0, 0.0)] * len(columns)
    return [tuple(float(x) for x in np.percentile(means[:, j], [2.5, 97.5])) for j in range(len(columns))]


def matmul_rate(n_items: int, rank: int, min_seconds: float = 1.0) -> float:
    """Scores per second of a float32 (users x rank) @ (rank x items) product on this machine (numpy BLAS)."""
    rng = np.random.default_rng(0)
    block = max(16, min(4096, (256 * 2**20) // (4 * max(n_items, 1))))
    users = rng.standard_normal((block, rank), dtype=np.float32)
    items = rng.standard_normal((rank, n_items), dtype=np.float32)
    users @ items  # warm-up
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < min_seconds:
        users @ items
        done += block * n_items
    return done / (time.perf_counter() - started)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--schema", default="olist")
    p.add_argument("--out", required=True)
    p.add_argument("--rank", type=int, default=32)
    p.add_argument("--reg-param", type=float, default=0.1)
    p.add_argument("--alpha", type=float, default=10.0)
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--topk-users", type=int, default=100_000, help="users scored in the top-K throughput run")
    p.add_argument("--fits", type=int, default=3, help="fits per library; the fastest of each is compared (default 3)")
    p.add_argument("--bootstrap-samples", type=int, default=1000, help="resamples of the P@K intervals (default 1000)")
    args = p.parse_args()
    if args.fits < 1:
        p.error("--fits must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    import scipy.sparse as sp
    from implicit.als import AlternatingLeastSquares
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import functions as F
    from threadpoolctl import threadpool_limits

    spark = spark_session(app_name="olist-bench-compare", native_netlib=True)
    config = JobConfig(schema=args.schema)
    inputs = read_inputs(spark, config)
    cutoff = default_cutoffs(inputs.purchases, config)[-1]
    split = make_split(inputs.purchases, cutoff, config.test_window_days)
    train = interactions_from_purchases(split.train, config).select(
        "customer_unique_id", "product_id", "implicit_confidence"
    )
    rows = train.toPandas()
    users = {u: i for i, u in enumerate(sorted(rows.customer_unique_id.unique()))}
    items = {p: i for i, p in enumerate(sorted(rows.product_id.unique()))}
    rows["u"] = rows.customer_unique_id.map(users).astype("int32")
    rows["i"] = rows.product_id.map(items).astype("int32")
    rows["r"] = rows.implicit_confidence.astype("float32")
    matrix = sp.csr_matrix((rows.r.to_numpy(), (rows.u.to_numpy(), rows.i.to_numpy())), shape=(len(users), len(items)))
    test = split.test.toPandas()
    test = test[test.customer_unique_id.isin(users)]  # warm users: bought before the cut-off
    relevant: dict[int, set[int]] = {}
    for user, product in zip(test.customer_unique_id, test.product_id, strict=True):
        relevant.setdefault(users[user], set()).add(items.get(product, -1))
    log.info("cut-off %s: %s users x %s items, %s interactions, %s warm test users", cutoff, len(users), len(items),
             matrix.nnz, len(relevant))  # fmt: skip

    # Spark ALS on the same indexed matrix (cached, so the fit time is the ALS iterations)
    ratings = spark.createDataFrame(rows[["u", "i", "r"]]).cache()
    ratings.count()
    als = ALS(userCol="u", itemCol="i", ratingCol="r", implicitPrefs=True, rank=args.rank, regParam=args.reg_param,
              alpha=args.alpha, maxIter=args.iterations, seed=args.seed, nonnegative=False,
              numUserBlocks=als_blocks(spark, config), numItemBlocks=als_blocks(spark, config))  # fmt: skip
    spark_fits = []
    for _ in range(args.fits):  # the same seed: the same factors every time
        started = time.perf_counter()
        model = als.fit(ratings)
        model.userFactors.count()
        spark_fits.append(time.perf_counter() - started)
    spark_fit = min(spark_fits)
    depth = int(np.diff(matrix.indptr).max()) if matrix.nnz else 0
    factors = model.itemFactors.toPandas()
    item_ids = factors["id"].to_numpy(dtype=np.int64)
    item_factors = np.vstack(factors["features"].to_numpy()).astype(np.float32)

    def job_top_n(user_ids, n: int):
        chosen = spark.createDataFrame([(int(u),) for u in user_ids], "u int")
        users_df = model.userFactors.withColumnRenamed("id", "u").join(chosen, "u")
        return top_n_by_dot_product(users_df, "u", item_ids, item_factors, "i", n)

    spark_recs: dict[int, list[tuple[float, int]]] = {}
    for r in job_top_n(relevant, args.top_k + depth).collect():
        spark_recs.setdefault(r.u, []).append((-r.score, r.i))
    for u, scored in spark_recs.items():
        bought = set(matrix.indices[matrix.indptr[u] : matrix.indptr[u + 1]])
        spark_recs[u] = [i for _, i in sorted(scored) if i not in bought][: args.top_k]
    spark_precisions = user_precisions(spark_recs, relevant, args.top_k)

    # top-K for all users (above --topk-users users, for the first that many: the rate is what is compared)
    topk_users = min(len(users), args.topk_users)
    started = time.perf_counter()
    job_top_n(range(topk_users), args.top_k).write.format("noop").mode("overwrite").save()
    job_topk = time.perf_counter() - started
    started = time.perf_counter()
    subset = spark.range(topk_users).select(F.col("id").cast("int").alias("u"))
    model.recommendForUserSubset(subset, args.top_k).write.format("noop").mode("overwrite").save()
    builtin_topk = time.perf_counter() - started
    scores = topk_users * len(items)

    # implicit on the same matrix, same hyperparameters, the same 2 cores. Its fit time varies up to 3x between
    # consecutive fits on this VM (a quarter to a third of its CPU time in the kernel), so it is fitted --fits times,
    # as Spark, and the fastest counts: the comparison is against what each library can do here.
    # Spark's confidence of an observed pair, 1 + alpha * r, is implicit's matrix value at alpha 1
    confidence = matrix.copy()
    confidence.data = (1.0 + args.alpha * confidence.data).astype(np.float32)
    implicit_fits = []
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(args.fits):
            implicit_model = AlternatingLeastSquares(
                factors=args.rank, regularization=args.reg_param, alpha=1.0, iterations=args.iterations,
                random_state=args.seed, use_gpu=False, calculate_training_loss=False,
            )  # fmt: skip
            started = time.perf_counter()
            implicit_model.fit(confidence, show_progress=False)
            implicit_fits.append(time.perf_counter() - started)
    implicit_fit = min(implicit_fits)
    ids = np.array(sorted(relevant), dtype=np.int32)
    implicit_recs: dict[int, list[int]] = {}
    if len(ids):
        found, _ = implicit_model.recommend(ids, matrix[ids], N=args.top_k, filter_already_liked_items=True)
        implicit_recs = {int(u): [int(i) for i in row] for u, row in zip(ids, found, strict=True)}
    implicit_precisions = user_precisions(implicit_recs, relevant, args.top_k)
    spark_precision = float(spark_precisions.mean()) if len(relevant) else 0.0
    implicit_precision = float(implicit_precisions.mean()) if len(relevant) else 0.0
    # Spark's P@K minus implicit's, per warm test user, resampled in pairs: equal when the interval holds 0
    per_user = [spark_precisions, implicit_precisions, spark_precisions - implicit_precisions]
    spark_ci, implicit_ci, difference = bootstrap_intervals(per_user, args.bootstrap_samples, args.seed)

    rate = matmul_rate(len(items), args.rank)
    floor = scores / rate
    result = {
        "cutoff": cutoff.isoformat(),
        "users": len(users),
        "items": len(items),
        "train_interactions": int(matrix.nnz),
        "warm_test_users": len(relevant),
        "rank": args.rank,
        "reg_param": args.reg_param,
        "alpha": args.alpha,
        "iterations": args.iterations,
        "top_k": args.top_k,
        "spark_fit_seconds": round(spark_fit, 2),
        "spark_fit_seconds_each": [round(seconds, 2) for seconds in spark_fits],
        # 4 decimals: at a tiny scale a fit takes milliseconds
        "implicit_fit_seconds": round(implicit_fit, 4),
        "implicit_fit_seconds_each": [round(seconds, 4) for seconds in implicit_fits],
        "fit_ratio": round(spark_fit / max(implicit_fit, 1e-9), 1),
        "spark_precision": spark_precision,
        "implicit_precision": implicit_precision,
        "spark_precision_ci": spark_ci,
        "implicit_precision_ci": implicit_ci,
        "precision_difference_ci": difference,
        "precision_equal": difference[0] <= 0.0 <= difference[1],
        "spark_hits": int(round(spark_precisions.sum() * args.top_k)),
        "implicit_hits": int(round(implicit_precisions.sum() * args.top_k)),
        "topk_users": topk_users,
        "scores": scores,
        "topk_seconds": round(job_topk, 2),
        "scores_per_second": scores / max(job_topk, 1e-9),
        "spark_builtin_topk_seconds": round(builtin_topk, 2),
        "matmul_scores_per_second": rate,
        "matmul_gflops": round(2 * args.rank * rate / 1e9, 1),
        "floor_seconds": round(floor, 3),
        "topk_vs_floor": round(job_topk / max(floor, 1e-9), 1),
        "spark_builtin_topk_vs_floor": round(builtin_topk / max(floor, 1e-9), 1),
        "as_of": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    with open(args.out, "w") as out:
        json.dump(result, out, indent=2)
    log.info("%s", result)
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
