"""The ALS job: read -> split -> tune -> evaluate at rolling cut-offs -> choose -> retrain -> recommend -> publish."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import logging
import time
from dataclasses import dataclass, field

import numpy as np
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from olist_recommender import recommenders as rec
from olist_recommender.config import MODELS, InjectedFailure, JobConfig
from olist_recommender.data import Inputs, read_inputs
from olist_recommender.evaluation import (
    METRICS,
    bootstrap_weights,
    compact_evaluation_frame,
    evaluate_groups,
    evaluation_frame,
    paired_bootstrap_means,
    spark_means,
)
from olist_recommender.publish import Publication, publish
from olist_recommender.spark import warehouse_dir
from olist_recommender.split import (
    Split,
    default_cutoffs,
    interactions_from_purchases,
    make_split,
    rfm_segments_at,
    validation_cutoff,
)

log = logging.getLogger(__name__)
USER, ITEM = rec.USER, rec.ITEM
# bootstrap seed offsets per user group (fixed: Python's str hash changes between processes)
GROUP_SEED = {"warm": 1, "cold": 2, "all": 3}


@dataclass
class RunResult:
    run_id: str
    chosen_model: str
    reason: str
    evaluation: list[dict]
    stage_seconds: dict[str, float] = field(default_factory=dict)
    publication: Publication | None = None


def _training_data(
    purchases: DataFrame, inputs: Inputs, config: JobConfig, as_of: dt.datetime, with_segments: bool = True
) -> rec.TrainingData:
    """The training period's interactions, and its customers' RFM segments unless `with_segments` is False (the ALS
    tuning reads none: finding the period's last day and monetary cap costs two Spark jobs, 1-3 s)."""
    interactions = interactions_from_purchases(purchases, config).cache()
    segments = rfm_segments_at(purchases, inputs.rfm_segments).cache() if with_segments else None
    return rec.TrainingData(purchases=purchases, interactions=interactions, segments=segments, as_of=as_of)


def split_at(
    inputs: Inputs, config: JobConfig, cutoff: dt.date, with_segments: bool = True
) -> tuple[Split, rec.TrainingData]:
    """The split at a cut-off and its training data; the split's test pairs and users are found with the training
    data's cached interactions and customers, not from the purchases again."""
    train = make_split(inputs.purchases, cutoff, config.test_window_days).train
    data = _training_data(train, inputs, config, dt.datetime.combine(cutoff, dt.time()), with_segments)
    split = make_split(
        inputs.purchases, cutoff, config.test_window_days, bought=data.bought(), buyers=data.history_sizes
    )
    return split, data


# sources that give every user a list long enough for k once their bought products are out: a list ending in one is full
EVERYONE_SOURCES = ("global_popularity", "recent_popularity")


def model_sources(
    model: str,
    data: rec.TrainingData,
    users: DataFrame,
    k: int,
    config: JobConfig,
    als: dict[str, rec.AlsFit],
    shared: dict[str, DataFrame] | None = None,
) -> list[tuple[str, DataFrame]]:
    """One model's candidate sources for `users`, in priority order (see `rec.top_k`). Popularity-type models end in
    a list for everyone; pure ALS does not (a customer it has never seen gets no list, which evaluation counts as a
    miss). `shared` memoises what several models use for the same users and k (each user's list length, category
    popularity): built on first use and cached, unless the caller put a frame there already."""
    n = k + data.depth
    shared = {} if shared is None else shared

    def lengths() -> DataFrame:
        if "list_lengths" not in shared:
            shared["list_lengths"] = rec.list_lengths(data, users, k).cache()
        return shared["list_lengths"]

    def popular() -> DataFrame:
        return rec.for_everyone(lengths(), data.popularity, n)

    def by_category() -> DataFrame:
        if "category_popularity" not in shared:
            shared["category_popularity"] = rec.category_popularity(data, lengths(), n).cache()
        return shared["category_popularity"]

    def popular_after_category() -> DataFrame:
        # the global list only for the users whose category list may not fill their top k
        if "category_shortfall" not in shared:
            shared["category_shortfall"] = rec.category_shortfall(data, lengths()).cache()
        return rec.for_everyone(shared["category_shortfall"], data.popularity, n)

    if model == "global_popularity":
        return [("global_popularity", popular())]
    if model == "recent_popularity":
        recent = rec.recent_popularity(data, config.recent_half_life_days)
        return [("recent_popularity", rec.for_everyone(lengths(), recent, n))]
    if model == "category_popularity":
        return [
            ("category_popularity", rec.within_length(by_category())),
            ("global_popularity", popular_after_category()),
        ]
    if model == "segment_popularity":
        return [("segment_popularity", rec.segment_popularity(data, lengths(), n)), ("global_popularity", popular())]
    if model == "co_purchase":
        return [
            ("co_purchase", rec.co_purchase(data, users)),
            ("category_popularity", rec.within_length(by_category())),
            ("global_popularity", popular_after_category()),
        ]
    if model in ("als_implicit", "als_explicit"):
        return [(model, rec.als_candidates(als[model], users, n))]
    if model == "als_category_blend":
        # rank fusion with the whole category list (n per category), not only what a top k alone would need
        category = by_category().select(rec.USER, rec.ITEM, "score")
        fused = rec.blend(rec.als_candidates(als["als_implicit"], users, n), category, config.blend_weight)
        return [("als_category_blend", fused), ("global_popularity", popular())]
    raise ValueError(f"unknown model {model}")


def recommend(
    model: str,
    data: rec.TrainingData,
    users: DataFrame,
    k: int,
    config: JobConfig,
    als: dict[str, rec.AlsFit],
    shared: dict[str, DataFrame] | None = None,
) -> DataFrame:
    """Top-k for `users` from one model (its `model_sources`, bought products removed)."""
    return rec.top_k(users, model_sources(model, data, users, k, config, als, shared), data.bought(), k)


def recommend_models(
    models: list[str],
    data: rec.TrainingData,
    users: DataFrame,
    k: int,
    config: JobConfig,
    als: dict[str, rec.AlsFit],
    shared: dict[str, DataFrame],
) -> DataFrame:
    """Every model's top-k for `users` (`recommend`) in one frame with a `model` column; `shared` as there (the
    caller unpersists what it caches once the frame has been used)."""
    ranked = [recommend(m, data, users, k, config, als, shared).withColumn("model", F.lit(m)) for m in models]
    return functools.reduce(DataFrame.unionByName, ranked)


def make_product_codes(inputs: Inputs) -> DataFrame:
    """product_id, product_code: a number per product (the evaluation's ranked lists are arrays of them)."""
    return inputs.products.select(ITEM).withColumn(
        "product_code", F.dense_rank().over(Window.orderBy(ITEM)).cast("double")
    )


def users_to_rank(test_users: DataFrame) -> tuple[DataFrame, str | None]:
    """The test users whose lists are ranked one by one: the warm ones, and one cold user (the first by id, returned
    as well; None without cold users) whose lists every cold user gets.

    A cold user has no purchase before the cut-off, and every model's input comes from those purchases (bought
    products, categories, segment, co-purchases, ALS factors): each model gives every cold user the same list. At 10x
    98.5% of a cut-off's 127k test users are cold; ranking each of them repeated one list 125k times per model.
    """
    cold_user = test_users.where(F.col("user_group") == "cold").agg(F.min(USER)).first()[0]
    ranked = test_users.where((F.col("user_group") == "warm") | (F.col(USER) == F.lit(cold_user)))
    return ranked.select(USER), cold_user


def als_needed(models: list[str]) -> list[str]:
    """The ALS variants the given models need fitted (the blend uses the implicit one)."""
    needed = {"als_implicit"} if {"als_implicit", "als_category_blend"} & set(models) else set()
    return sorted(needed | ({"als_explicit"} & set(models)), reverse=True)


def _fit_als_models(
    data: rec.TrainingData, config: JobConfig, params: dict[str, dict], models: list[str]
) -> dict[str, rec.AlsFit]:
    fits = {}
    for name in als_needed(models):
        implicit = name == "als_implicit"
        rating = "implicit_confidence" if implicit else "explicit_rating"
        fits[name] = rec.fit_als(data, params[name], implicit, config, rating)
    return fits


def _grid(grid) -> list[dict]:
    return [
        dict(zip(("rank", "reg_param", "alpha", "max_iter"), combo, strict=True))
        for combo in itertools.product(grid.rank, grid.reg_param, grid.alpha, grid.max_iter)
    ]


def tune_als(inputs: Inputs, config: JobConfig, cutoffs: list[dt.date], product_codes: DataFrame) -> dict[str, dict]:
    """Grid search on the validation window before the first cut-off; metric = selection metric on warm users.

    Every grid point is fitted first; their top-k lists are then ranked and scored together, by one evaluation
    query, as the cut-offs evaluate their models (one query per grid point cost a second or two of planning each)."""
    if not als_needed(config.models):
        return {}
    vcut = validation_cutoff(cutoffs, config)
    split, data = split_at(inputs, config, vcut, with_segments=False)
    warm = split.test_users.where("user_group = 'warm'").cache()
    k, metric = config.selection_k, config.selection_metric
    variants = {
        "als_implicit": (config.implicit_grid, True, "implicit_confidence"),
        "als_explicit": (config.explicit_grid, False, "explicit_rating"),
    }
    points: dict[str, tuple[str, dict]] = {}  # label -> (variant, params)
    recs, kept = None, []
    for name in als_needed(config.models):
        grid, implicit, rating = variants[name]
        for params in _grid(grid):
            label = f"{name} {json.dumps(params, sort_keys=True)}"
            if label in points:  # a value listed twice in the grid
                continue
            points[label] = (name, params)
            started = time.perf_counter()
            fit = rec.fit_als(data, params, implicit, config, rating)
            # the warm users' candidates, kept (a few rows per user): the fit itself is not held until the end
            candidates = rec.als_candidates(fit, warm, k + data.depth).cache()
            candidates.count()
            kept.append(candidates)
            log.info("  tune %s %s: fitted and scored in %.1fs", name, params, time.perf_counter() - started)
            ranked = rec.top_k(warm, [(name, candidates)], data.bought(), k).withColumn("model", F.lit(label))
            recs = ranked if recs is None else recs.unionByName(ranked)
    frame = evaluation_frame(recs, split.test, warm, product_codes, list(points))
    evaluated = evaluate_groups(frame, [k], 1, list(points), with_coverage=False)
    for candidates in kept:
        candidates.unpersist()
    scored: dict[str, list[tuple[float, dict]]] = {}
    for label, (name, params) in points.items():
        result = evaluated[label]["all"]
        value = result.mean(k, metric)
        scored.setdefault(name, []).append((value, params))
        log.info("  tune %s %s: %s@%s=%.4f on %s warm validation users", name, params, metric, k, value, result.n_users)
    # ties: the lower rank, then the stronger regularisation
    best = {name: max(v, key=lambda c: (c[0], -c[1]["rank"], c[1]["reg_param"]))[1] for name, v in scored.items()}
    log.info("validation cut-off %s: chose %s", vcut, best)
    warm.unpersist()
    data.release()
    return best


def _row(
    model: str, cutoff: str, group: str, k: int, metric: str, value: float, ci: tuple | None, n_users: int, params: str
) -> dict:
    """One row of recommendation_evaluation (without run_id); ci None where an interval does not apply."""
    low, high = ci if ci else (None, None)
    return {
        "model": model, "cutoff": cutoff, "user_group": group, "k": k, "metric": metric, "value": value,
        "ci_low": low, "ci_high": high, "n_users": n_users, "params": params,
    }  # fmt: skip


def evaluate_at_cutoffs(
    spark: SparkSession,
    inputs: Inputs,
    config: JobConfig,
    cutoffs: list[dt.date],
    params: dict[str, dict],
    product_codes: DataFrame,
) -> list[dict]:
    """Rows of the evaluation table (without run_id): per cut-off and the mean over cut-offs, with bootstrap CIs."""
    rows: list[dict] = []
    boots: dict[tuple, list[np.ndarray]] = {}
    per_cut: dict[tuple, list[float]] = {}
    n_users_total: dict[tuple, int] = {}
    kmax = max(config.ks)
    for ci, cutoff in enumerate(cutoffs):
        t0 = time.perf_counter()
        split, data = split_at(inputs, config, cutoff)
        catalogue = data.interactions.select(ITEM).distinct().count()
        als = _fit_als_models(data, config, params, config.models)
        log.info("  training data and %s ALS fit(s) at %s in %.1fs", len(als), cutoff, time.perf_counter() - t0)
        test_users = split.test_users.cache()
        ranked_users, cold_user = users_to_rank(test_users)
        ranked_users = ranked_users.cache()
        shared: dict[str, DataFrame] = {}
        models = config.models
        # read twice (the cold user's lists, then the warm users'): cached
        recs = recommend_models(models, data, ranked_users, kmax, config, als, shared).cache()
        # a row per cold test user, scored on each model's cold list, not a row per (model, cold test user)
        frame, cold_lists = compact_evaluation_frame(recs, split.test, test_users, product_codes, models, cold_user)
        evaluated = evaluate_groups(frame, config.ks, catalogue, models, cold_lists=cold_lists)
        if config.check_with_ranking_evaluator:
            _check_with_ranking_evaluator(
                spark, recs, split.test, test_users, product_codes, evaluated, config.ks, cold_user
            )
        n_ranked = evaluated[models[0]]["warm"].n_users + (cold_user is not None)
        log.info(
            "  %s models evaluated at %s in %.1fs (lists ranked for %s test users: the warm ones and one cold one)",
            len(models), cutoff, time.perf_counter() - t0, f"{n_ranked:,}",
        )  # fmt: skip
        # one resampling of each user group per cut-off, shared by every model: evaluation_frame gives every model a
        # row per test user (paired_bootstrap_means refuses weights drawn for another number of users)
        resampled: dict[tuple[str, str], np.ndarray] = {}
        for group, group_seed in GROUP_SEED.items():
            seed = config.seed + 1000 * ci + group_seed
            weights = bootstrap_weights(evaluated[models[0]][group].n_users, config.bootstrap_samples, seed)
            draws = paired_bootstrap_means([evaluated[model][group].values for model in models], weights)
            resampled.update({(model, group): b for model, b in zip(models, draws, strict=True)})
        for model in models:
            groups = evaluated[model]
            param_text = (
                json.dumps(params.get(model if model != "als_category_blend" else "als_implicit", {}), sort_keys=True)
                if model.startswith("als")
                else "{}"
            )
            for group, result in groups.items():
                b = resampled[(model, group)]
                boots.setdefault((model, group), []).append(b)
                means = result.values.mean(axis=0) if result.n_users else np.zeros(len(result.columns))
                per_cut.setdefault((model, group), []).append(means)
                n_users_total[(model, group)] = n_users_total.get((model, group), 0) + result.n_users
                for j, (k, metric) in enumerate(result.columns):
                    lo, hi = np.percentile(b[:, j], [2.5, 97.5]) if result.n_users else (0.0, 0.0)
                    value = float(means[j])
                    cell = (model, cutoff.isoformat(), group, k, metric)
                    rows.append(_row(*cell, value, (float(lo), float(hi)), result.n_users, param_text))
                for k in config.ks:
                    cell = (model, cutoff.isoformat(), group, k, "coverage")
                    rows.append(_row(*cell, result.coverage[k], None, result.n_users, param_text))
        log.info(
            "cut-off %s: %s test users evaluated on %s models in %.1fs",
            cutoff,
            test_users.count(),
            len(models),
            time.perf_counter() - t0,
        )
        for cached in (test_users, ranked_users, recs):
            cached.unpersist()
        data.release()
        for cached in shared.values():
            cached.unpersist()
    # the mean over cut-offs; its interval: the same bootstrap draws averaged across cut-offs
    for (model, group), draws in boots.items():
        mean_b = np.mean(np.stack(draws), axis=0)
        means = np.mean(np.stack(per_cut[(model, group)]), axis=0)
        columns = [(k, m) for k in config.ks for m in METRICS]
        param_text = next(r["params"] for r in rows if r["model"] == model)
        for j, (k, metric) in enumerate(columns):
            lo, hi = np.percentile(mean_b[:, j], [2.5, 97.5])
            n_users = n_users_total[(model, group)]
            rows.append(
                _row(model, "mean", group, k, metric, float(means[j]), (float(lo), float(hi)), n_users, param_text)
            )
        for k in config.ks:
            cov = [
                r["value"]
                for r in rows
                if (r["model"], r["user_group"], r["k"], r["metric"]) == (model, group, k, "coverage")
                and r["cutoff"] != "mean"
            ]
            n_users = n_users_total[(model, group)]
            rows.append(_row(model, "mean", group, k, "coverage", float(np.mean(cov)), None, n_users, param_text))
    return rows


def _check_with_ranking_evaluator(
    spark: SparkSession,
    recs: DataFrame,
    test: DataFrame,
    test_users: DataFrame,
    product_codes: DataFrame,
    evaluated: dict,
    ks: list[int],
    cold_user: str | None = None,
) -> None:
    """Recompute each model's means with pyspark's RankingEvaluator (12 Spark jobs per model: off by default)."""
    for model, groups in evaluated.items():
        recommended = recs.where(F.col("model") == model)
        frame = evaluation_frame(recommended, test, test_users, product_codes, [model], cold_user)
        rows = frame.select("prediction", "label").collect()
        local = spark.createDataFrame(
            [(list(r.prediction), list(r.label)) for r in rows] or [([], [])],
            "prediction array<double>, label array<double>",
        ).coalesce(1)
        for (k, metric), spark_value in spark_means(local, ks).items():
            mine = groups["all"].mean(k, metric)
            if abs(mine - spark_value) > 1e-9:
                raise AssertionError(
                    f"{model} {metric}@{k}: per-user mean {mine:.6f} != RankingEvaluator {spark_value:.6f}"
                )


def choose_model(rows: list[dict], config: JobConfig) -> tuple[str, str]:
    """The model with the best mean selection metric over cut-offs on all test users (ties: simpler model first)."""
    scores = {
        r["model"]: r
        for r in rows
        if r["cutoff"] == "mean"
        and r["user_group"] == "all"
        and r["k"] == config.selection_k
        and r["metric"] == config.selection_metric
    }
    ranked = sorted(scores.values(), key=lambda r: (-r["value"], MODELS.index(r["model"])))
    best, runner_up = ranked[0], ranked[1] if len(ranked) > 1 else None
    als_best = max((r for r in ranked if r["model"].startswith("als")), key=lambda r: r["value"], default=None)
    reason = (
        f"{best['model']} has the best mean {config.selection_metric}@{config.selection_k} over the cut-offs on all "
        f"test users: {best['value']:.4f} (95% CI {best['ci_low']:.4f}-{best['ci_high']:.4f}, "
        f"{best['n_users']:,} user-windows)"
    )
    if runner_up:
        reason += f"; next {runner_up['model']} {runner_up['value']:.4f}"
    if als_best and als_best["model"] != best["model"]:
        reason += f"; best ALS variant {als_best['model']} {als_best['value']:.4f}"
    return best["model"], reason


# models whose list for a customer reads nothing of the customer but the products bought (and, through them, the
# categories bought): customers who bought the same set get the same list, so serving ranks one of them per set.
# The global and recent lists are so too, but they are one broadcast list cut per customer, which costs no more than
# the grouping (10x, serving alone: 30.8 s either way; recent 29.3 s, 31.6 s grouped)
RANKED_PER_BOUGHT_SET = ("category_popularity", "co_purchase")


def serve(
    inputs: Inputs, config: JobConfig, chosen: str, params: dict[str, dict], by_bought_set: bool = True
) -> tuple[DataFrame, DataFrame]:
    """Retrain the chosen model on all data; top-k for every customer, and top-n per RFM segment.

    A model of RANKED_PER_BOUGHT_SET ranks one customer per set of bought products and copies the list to the
    others of the set, unless `by_bought_set` is False (every customer ranked: the reference the tests compare with)."""
    as_of = inputs.purchases.select(F.max("purchased_at")).first()[0]
    segments = inputs.customer_rfm.select(USER, "segment")
    interactions = inputs.interactions.select(
        USER, ITEM, "product_category_name_english",
        F.col(config.confidence_column).alias("implicit_confidence"),
        F.col(config.rating_column).alias("explicit_rating"),
    )  # fmt: skip
    data = rec.TrainingData(purchases=inputs.purchases, interactions=interactions, segments=segments, as_of=as_of)
    customers = inputs.customers.select(USER)
    k, n = config.top_k, config.top_k + data.depth
    als = _fit_als_models(data, config, params, [chosen])
    by_set = None
    if by_bought_set and chosen in RANKED_PER_BOUGHT_SET:
        by_set = rec.customers_by_bought_set(data, customers).cache()
    # a representative is a customer of its own set: the customers ranked are those that represent themselves
    ranked = customers if by_set is None else by_set.where(F.col(USER) == F.col("representative_id")).select(USER)
    # every customer ranked (or one per set of bought products, RANKED_PER_BOUGHT_SET), with the length of their
    # shared lists: cached, it serves each source
    lengths = rec.list_lengths(data, ranked, k).cache()
    # used at most once here, so not cached (for every customer it is the largest frame at 10x)
    shared = {"list_lengths": lengths, "category_popularity": rec.category_popularity(data, lengths, n)}
    sources = model_sources(chosen, data, lengths, k, config, als, shared)
    if sources[-1][0] not in EVERYONE_SOURCES:
        # lists the model leaves short (pure ALS: customers it never saw): segment, category, global popularity
        sources += [
            ("segment_popularity", rec.segment_popularity(data, lengths, n)),
            ("category_popularity", rec.within_length(shared["category_popularity"])),
            ("global_popularity", rec.for_everyone(lengths, data.popularity, n)),
        ]
    merged = rec.top_k(lengths, sources, data.bought(), k)
    if by_set is not None:
        merged = by_set.join(merged.withColumnRenamed(USER, "representative_id"), "representative_id")
    by_customer = merged.join(inputs.products, ITEM, "left").select(
        USER, "rank", ITEM, F.col("product_category_name_english").alias("product_category"), "score", "source"
    )
    per_segment = (
        interactions.join(segments, USER)
        .groupBy("segment", ITEM)
        .agg(F.countDistinct(USER).cast("double").alias("score"))
    )
    segment_rank = F.row_number().over(Window.partitionBy("segment").orderBy(F.desc("score"), ITEM))
    by_segment = (
        per_segment.withColumn("rank", segment_rank)
        .where(F.col("rank") <= config.top_n_per_segment)
        .join(inputs.products, ITEM, "left")
        .select("segment", "rank", ITEM, F.col("product_category_name_english").alias("product_category"), "score")
    )
    return by_customer, by_segment


def data_fingerprint(inputs: Inputs) -> str:
    row = inputs.interactions.select(
        F.count("*").alias("n"),
        F.sum(F.xxhash64(USER, ITEM, "purchase_count", "monetary_value").cast("decimal(38,0)")).alias("h"),
    ).first()
    return f"{row.n}-{int(row.h or 0) & 0xFFFFFFFFFFFFFFFF:016x}"


def run(spark: SparkSession, config: JobConfig, run_id: str | None = None) -> RunResult:
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run_id = run_id or started.strftime("r%Y%m%dt%H%M%S%f")
    stages: dict[str, float] = {}

    def stage_done(name: str, t0: float) -> None:
        stages[name] = round(time.perf_counter() - t0, 1)
        log.info("stage %s done in %.1fs", name, stages[name])
        if config.fail_after_stage == name:
            raise InjectedFailure(f"failure injected after stage '{name}' (fail_after_stage)")

    checkpoint = config.checkpoint_dir or str(warehouse_dir() / "checkpoints")
    spark.sparkContext.setCheckpointDir(checkpoint)

    t0 = time.perf_counter()
    inputs = read_inputs(spark, config)
    fingerprint = data_fingerprint(inputs)
    product_codes = make_product_codes(inputs).cache()
    cutoffs = default_cutoffs(inputs.purchases, config)
    log.info(
        "run %s: cut-offs %s, test window %s days, data %s",
        run_id,
        [c.isoformat() for c in cutoffs],
        config.test_window_days,
        fingerprint,
    )
    stage_done("read", t0)

    t0 = time.perf_counter()
    params = tune_als(inputs, config, cutoffs, product_codes)
    rows = evaluate_at_cutoffs(spark, inputs, config, cutoffs, params, product_codes)
    chosen, reason = choose_model(rows, config)
    log.info("chosen: %s", reason)
    stage_done("evaluate", t0)

    t0 = time.perf_counter()
    by_customer, by_segment = serve(inputs, config, chosen, params)  # fits the chosen model on all data
    stage_done("train", t0)

    # the customers' top-k are computed as their run table is written, not cached and counted first (at 10x 9.6M rows
    # of the heap, and 6 s): the recommend stage ends when that table is written, the write stage at the swap
    t0 = time.perf_counter()
    written: dict[str, int] = {}
    run_row = dict(run_id=run_id, started_at=started, finished_at=None, data_fingerprint=fingerprint,
                   config=config.to_json(), chosen_model=chosen, chosen_reason=reason, status="succeeded")  # fmt: skip

    def table_written(name: str, rows: int) -> None:
        nonlocal t0
        written[name] = rows
        if name == "recommendations_by_customer":
            run_row["finished_at"] = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # the recommendations are done
            stage_done("recommend", t0)
            t0 = time.perf_counter()

    publication = publish(
        spark, config, run_id,
        by_customer=by_customer, by_segment=by_segment, evaluation=rows, run_row=run_row,
        fail_before_swap=config.fail_after_stage == "write", on_table_written=table_written,
    )  # fmt: skip
    stage_done("write", t0)
    n_recs = written["recommendations_by_customer"]
    log.info("published run %s: %s customer recommendations", run_id, f"{n_recs:,}")
    return RunResult(
        run_id=run_id,
        chosen_model=chosen,
        reason=reason,
        evaluation=rows,
        stage_seconds=stages,
        publication=publication,
    )
