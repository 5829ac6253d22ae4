"""The ALS job on a real Spark session over the dbt-built warehouse: outputs, protocol, determinism, failures."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from conftest import PROJECT_DIR
from olist_recommender.config import ConfigError, InjectedFailure, JobConfig, load_config
from olist_recommender.data import InputError, read_inputs
from olist_recommender.evaluation import (
    METRICS,
    compact_evaluation_frame,
    evaluate_groups,
    evaluation_frame,
    list_metric_matrix,
    metric_matrix,
    spark_means,
    user_metrics,
)
from olist_recommender.publish import COLUMNS

K = 10


def test_metric_matrix_gives_user_metrics_doubles_for_many_users() -> None:
    """The vectorised metrics the evaluation runs are `user_metrics`, to the last bit: lists shorter and longer
    than k, no hits, all hits, empty lists, unseen products (-1), one or many relevant products, no relevant ones."""
    rng = np.random.default_rng(5)
    predicted, labels = [], []
    for _ in range(3000):
        ranked = rng.permutation(40)[: rng.integers(0, 25)].astype(float)
        relevant = rng.choice(np.append(np.arange(40.0), -1.0), size=rng.integers(0, 6), replace=False)
        predicted.append(ranked)
        labels.append(relevant)
    predicted.append(np.arange(20.0))
    labels.append(np.arange(20.0))  # every position a hit
    ks = [1, 5, 10, 20]
    got = metric_matrix(predicted, labels, ks)
    expected = np.array(
        [
            [user_metrics(list(p), set(r), k)[m] for k in ks for m in METRICS]
            for p, r in zip(predicted, labels, strict=True)
        ]
    )
    assert got.shape == expected.shape and np.array_equal(got, expected)
    assert 0 < (got[:, [j for j in range(got.shape[1]) if j % len(METRICS) == 4]] > 0).mean() < 1  # hits and misses
    assert metric_matrix([], [], ks).shape == (0, len(ks) * len(METRICS))
    # one list for every user (a model's list for the cold users), labels given flat: the same doubles again
    sizes = np.array([len(r) for r in labels])
    for listed in (predicted[0], predicted[-1], np.arange(25.0)[::-1], np.array([])):
        shared = list_metric_matrix(listed, np.concatenate(labels), sizes, ks)
        assert np.array_equal(shared, metric_matrix([listed] * len(labels), labels, ks))
    assert list_metric_matrix(np.arange(5.0), np.array([]), np.array([], dtype=int), ks).shape == (0, 20)


def test_metrics_match_a_hand_computed_example_and_spark(spark) -> None:
    # user a: hits at ranks 2 and 5 of 5, three relevant products; user b: no predictions (a miss)
    a = user_metrics([1.0, 2.0, 3.0, 4.0, 5.0], {2.0, 5.0, 9.0}, 5)
    assert a["precision"] == pytest.approx(2 / 5)
    assert a["recall"] == pytest.approx(2 / 3)
    assert a["hit_rate"] == 1.0
    assert a["map"] == pytest.approx((1 / 2 + 2 / 5) / 3)
    dcg = 1 / math.log2(3) + 1 / math.log2(6)
    idcg = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert a["ndcg"] == pytest.approx(dcg / idcg)
    b = user_metrics([], {1.0}, 5)
    assert all(v == 0.0 for v in b.values())
    frame = spark.createDataFrame(
        [([1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 5.0, 9.0]), ([], [1.0])], "prediction array<double>, label array<double>"
    )
    means = spark_means(frame, [5])
    for metric in ("precision", "recall", "ndcg", "map"):
        assert means[(5, metric)] == pytest.approx((a[metric] + b[metric]) / 2), metric


def test_grouped_evaluation_splits_users_and_counts_coverage(spark) -> None:
    # two models over the same two test users; model_c recommended nothing and has no rows at all
    frame = spark.createDataFrame(
        [
            ("model_a", "u2", "warm", [1.0, 2.0, 3.0], [2.0]),
            ("model_a", "u1", "cold", [4.0], [4.0, 5.0]),
            ("model_b", "u1", "cold", [], [4.0]),
            ("model_b", "u2", "warm", [9.0], [2.0]),
        ],
        "model string, customer_unique_id string, user_group string, prediction array<double>, label array<double>",
    ).repartition(3)
    results = evaluate_groups(frame, [1, 2], 10, ["model_a", "model_b", "model_c"])
    assert set(results) == {"model_a", "model_b", "model_c"}
    a = results["model_a"]
    assert (a["warm"].n_users, a["cold"].n_users, a["all"].n_users) == (1, 1, 2)
    hit_at_2 = a["all"].columns.index((2, "hit_rate"))
    # users in id order (u1 then u2) whatever order Spark returned them in
    assert a["all"].values[:, hit_at_2].tolist() == [1.0, 1.0]
    expected_u2 = user_metrics([1.0, 2.0, 3.0], {2.0}, 2)
    assert a["warm"].values[0, len(METRICS) :].tolist() == [expected_u2[m] for m in METRICS]
    assert a["all"].coverage == {1: 2 / 10, 2: 3 / 10} and a["cold"].coverage == {1: 1 / 10, 2: 1 / 10}
    assert results["model_b"]["all"].values.sum() == 0.0 and results["model_b"]["cold"].coverage == {1: 0.0, 2: 0.0}
    assert results["model_c"]["all"].n_users == 0 and results["model_c"]["all"].values.shape == (0, 10)


def test_the_ranking_evaluator_check_passes_on_the_jobs_means_and_names_a_difference(spark) -> None:
    """`check_with_ranking_evaluator`: the job's per-user means agree with pyspark's RankingEvaluator on the same ranked
    lists, and a mean that differs stops the run with the model, metric and k named."""
    from olist_recommender.job import _check_with_ranking_evaluator

    recs = spark.createDataFrame(
        [
            ("model_a", "u1", 1, "p1"), ("model_a", "u1", 2, "p2"), ("model_a", "u1", 3, "p3"),
            ("model_a", "u2", 1, "p4"), ("model_a", "u2", 2, "p1"),
            ("model_b", "u2", 1, "p2"),
        ],
        "model string, customer_unique_id string, rank int, product_id string",
    )  # fmt: skip
    test = spark.createDataFrame(
        [("u1", "p2"), ("u1", "p9"), ("u2", "p1"), ("u3", "p3")], "customer_unique_id string, product_id string"
    )
    test_users = spark.createDataFrame(
        [("u1", "warm"), ("u2", "warm"), ("u3", "cold")], "customer_unique_id string, user_group string"
    )
    product_codes = spark.createDataFrame(
        [(f"p{i}", float(i)) for i in range(1, 6)], "product_id string, product_code double"
    )
    models, ks = ["model_a", "model_b"], [1, 2, 3]
    evaluated = evaluate_groups(evaluation_frame(recs, test, test_users, product_codes, models), ks, 5, models)
    assert evaluated["model_a"]["all"].mean(2, "hit_rate") == pytest.approx(2 / 3)  # u1 and u2 hit within 2; u3 not
    _check_with_ranking_evaluator(spark, recs, test, test_users, product_codes, evaluated, ks)

    column = evaluated["model_a"]["all"].columns.index((2, "ndcg"))
    evaluated["model_a"]["all"].values[0, column] += 0.01
    with pytest.raises(AssertionError, match="model_a ndcg@2"):
        _check_with_ranking_evaluator(spark, recs, test, test_users, product_codes, evaluated, ks)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ks": [0, 10]}, "ks must be positive"),
        ({"top_k": 0}, "top_k must be > 0"),
        ({"no_such_option": 1}, "unknown configuration option"),
        ({"models": ["als_implicit", "magic"]}, "models must be a non-empty subset"),
        ({"models": []}, "models must be a non-empty subset"),
        ({"cutoffs": ["2018-13-01"]}, "ISO dates"),
        ({"fail_after_stage": "lunch"}, "fail_after_stage"),
    ],
)
def test_bad_configuration_is_rejected_clearly(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(overrides=overrides)


def test_an_unknown_column_is_named(spark, default_warehouse) -> None:
    config = load_config(overrides={"schema": default_warehouse.schema, "confidence_column": "no_such_column"})
    with pytest.raises(ConfigError, match="no_such_column.*customer_product_interactions"):
        read_inputs(spark, config)


def test_an_empty_interaction_mart_is_a_clear_error(spark, default_warehouse) -> None:
    source, empty = default_warehouse.schema, "t_empty"
    spark.sql(f"create database if not exists {empty}_marts")
    spark.sql(f"create database if not exists {empty}_reference")
    for table in ("customer_product_interactions", "fct_order_items", "customer_rfm", "dim_customers", "dim_products"):
        spark.sql(f"create or replace view {empty}_marts.{table} as select * from {source}_marts.{table} where false")
    spark.sql(f"create or replace view {empty}_reference.rfm_segments as select * from {source}_reference.rfm_segments")
    with pytest.raises(InputError, match="customer_product_interactions is empty"):
        read_inputs(spark, load_config(overrides={"schema": empty}))
    with pytest.raises(InputError, match="not found"):
        read_inputs(spark, load_config(overrides={"schema": "t_nothing_here"}))


def test_the_job_does_not_run_after_a_failed_dbt_build(spark, session_dir, monkeypatch, caplog) -> None:
    # `python -m olist_recommender --dbt-build` (what `make run` runs): dbt builds in the job's process, on its
    # session; here the build cannot read its data folder, so the job must stop before reading or writing anything
    from olist_recommender.__main__ import main

    schema, missing = "t_cli_build", (session_dir / "data" / "no_folder_for_cli").resolve()
    monkeypatch.setenv("OLIST_DATA_DIR", str(missing))
    monkeypatch.setenv("DBT_TARGET_PATH", str(session_dir / "target_cli_build"))
    monkeypatch.setenv("DBT_SCHEMA", "olist")  # --schema, not this, decides what dbt builds
    assert main(["--dbt-build", "--schema", schema]) == 1
    errors = "\n".join(r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    assert "dbt build" in errors and "the recommendation job did not run" in errors, errors
    databases = {d.name for d in spark.catalog.listDatabases()}
    assert f"{schema}_recommendation_runs" not in databases and "olist_recommendation_runs" not in databases


def test_a_project_dbt_cannot_parse_stops_the_job_naming_the_parse(spark, session_dir, monkeypatch, caplog) -> None:
    # `--dbt-build` parses the project while the job's session starts; a model that does not parse must stop the job
    # before the build, with an error that says so (here a model referring to a model that does not exist)
    from olist_recommender.__main__ import main

    project = session_dir / "unparsable_project"
    shutil.copytree(
        PROJECT_DIR, project, ignore=shutil.ignore_patterns(".venv", "target", "warehouse", "logs", ".git"),
        dirs_exist_ok=True,
    )  # fmt: skip
    (project / "models" / "marts" / "core" / "broken.sql").write_text("select * from {{ ref('no_such_model') }}\n")
    monkeypatch.setenv("OLIST_HOME", str(project))
    monkeypatch.setenv("DBT_TARGET_PATH", str(session_dir / "target_unparsable"))
    assert main(["--dbt-build", "--schema", "t_unparsable"]) == 1
    errors = "\n".join(r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    assert "dbt could not parse the project" in errors and "the recommendation job did not run" in errors, errors
    assert "no_such_model" in errors, errors
    assert "t_unparsable_marts" not in {d.name for d in spark.catalog.listDatabases()}


def _config(schema: str, **overrides) -> JobConfig:
    base = {
        "schema": schema,
        "top_k": K,
        "bootstrap_samples": 100,
        "implicit_grid": {"rank": [8], "reg_param": [0.1], "alpha": [10.0, 40.0], "max_iter": [5]},
        "explicit_grid": {"rank": [8], "reg_param": [0.1], "alpha": [1.0], "max_iter": [5]},
    }
    return load_config(overrides={**base, **overrides})


@pytest.fixture(scope="module")
def first_run(spark, default_warehouse):
    from olist_recommender.job import run

    return run(spark, _config(default_warehouse.schema), run_id="r0001")


def test_the_job_publishes_four_tables_with_the_documented_columns(spark, default_warehouse, first_run) -> None:
    marts = f"{default_warehouse.schema}_marts"
    for name, columns in COLUMNS.items():
        assert spark.table(f"{marts}.{name}").columns == columns, name
    runs = spark.table(f"{marts}.recommendation_runs").where("run_id = 'r0001'").collect()
    assert len(runs) == 1 and runs[0].chosen_model == first_run.chosen_model and runs[0].status == "succeeded"
    segments = spark.table(f"{marts}.recommendations_by_segment").groupBy("segment").count().collect()
    assert segments and all(0 < r["count"] <= 20 for r in segments)


def test_every_customer_gets_k_recommendations_and_none_already_bought(spark, default_warehouse, first_run) -> None:
    marts = f"{default_warehouse.schema}_marts"
    recs = spark.table(f"{marts}.recommendations_by_customer")
    customers = spark.table(f"{marts}.dim_customers").count()
    per_customer = recs.groupBy("customer_unique_id").agg({"rank": "max", "*": "count"}).collect()
    assert len(per_customer) == customers
    assert all(r["count(1)"] == K and r["max(rank)"] == K for r in per_customer)
    bought = spark.table(f"{marts}.customer_product_interactions").select("customer_unique_id", "product_id")
    assert recs.join(bought, ["customer_unique_id", "product_id"]).count() == 0
    sources = {r.source for r in recs.select("source").distinct().collect()}
    assert first_run.chosen_model in sources or sources <= {
        "segment_popularity",
        "category_popularity",
        "global_popularity",
    }
    assert recs.where("product_category is null").count() == 0


def test_evaluation_covers_every_model_group_k_metric_and_cutoff(spark, default_warehouse, first_run) -> None:
    rows = (
        spark.table(f"{default_warehouse.schema}_marts.recommendation_evaluation").where("run_id = 'r0001'").collect()
    )
    assert {r.model for r in rows} >= {"global_popularity", "recent_popularity", "category_popularity",
                                       "segment_popularity", "als_implicit", "als_explicit"}  # fmt: skip
    assert {r.user_group for r in rows} == {"warm", "cold", "all"}
    assert {r.k for r in rows} == {5, 10, 20}
    assert {r.metric for r in rows} == {"precision", "recall", "ndcg", "map", "hit_rate", "coverage"}
    cutoffs = {r.cutoff for r in rows}
    assert "mean" in cutoffs and len(cutoffs - {"mean"}) >= 3
    for r in rows:
        assert 0.0 <= r.value <= 1.0
        if r.ci_low is not None:
            assert r.ci_low <= r.ci_high
    # users without a prediction are misses, not dropped: pure ALS never serves cold users, yet counts them
    als_all = [r for r in rows if r.model == "als_implicit" and r.user_group == "all" and r.cutoff != "mean"]
    pop_all = [r for r in rows if r.model == "global_popularity" and r.user_group == "all" and r.cutoff != "mean"]
    assert sorted(r.n_users for r in als_all) == sorted(r.n_users for r in pop_all)
    cold_als = [r for r in rows if r.model == "als_implicit" and r.user_group == "cold" and r.metric == "hit_rate"]
    assert all(r.value == 0.0 for r in cold_als)


def test_same_data_and_seed_give_identical_metrics(spark, default_warehouse, first_run) -> None:
    from olist_recommender.job import run

    second = run(spark, _config(default_warehouse.schema), run_id="r0002")
    key = lambda r: (r["model"], r["cutoff"], r["user_group"], r["k"], r["metric"])  # noqa: E731
    assert {key(r): (r["value"], r["ci_low"], r["ci_high"]) for r in first_run.evaluation} == {
        key(r): (r["value"], r["ci_low"], r["ci_high"]) for r in second.evaluation
    }
    assert second.chosen_model == first_run.chosen_model


@pytest.mark.parametrize("stage", ["train", "recommend", "write"])
def test_a_failed_run_leaves_the_published_tables_unchanged(spark, default_warehouse, first_run, stage) -> None:
    from olist_recommender.job import run

    marts = f"{default_warehouse.schema}_marts"
    before = {
        name: sorted(map(tuple, spark.table(f"{marts}.{name}").collect()), key=str)
        for name in ("recommendations_by_customer", "recommendation_runs")
    }
    with pytest.raises(InjectedFailure):
        # one cheap model: what is under test is the publish path, the same for every model
        failing = _config(default_warehouse.schema, fail_after_stage=stage, n_cutoffs=1, models=["global_popularity"])
        run(spark, failing, run_id=f"r9999{stage}")
    after = {name: sorted(map(tuple, spark.table(f"{marts}.{name}").collect()), key=str) for name in before}
    assert after == before
    leftovers = [
        t.name
        for t in spark.catalog.listTables(f"{default_warehouse.schema}_recommendation_runs")
        if f"r9999{stage}" in t.name
    ]
    assert leftovers == []


def test_a_ranked_list_keeps_its_order_when_fallbacks_fill_it(spark) -> None:
    from olist_recommender.recommenders import top_k

    users = spark.createDataFrame([("u",)], "customer_unique_id string")
    # the chosen model's list mixes sources whose scores are on different scales: its ranks decide, not scores
    chosen = spark.createDataFrame(
        [
            ("u", 1, "p1", 0.2, "co_purchase"),
            ("u", 2, "p2", 0.1, "co_purchase"),
            ("u", 3, "p3", 3.5, "category_popularity"),
        ],
        "customer_unique_id string, rank int, product_id string, score double, source string",
    )
    fallback = spark.createDataFrame(
        [("u", "p9", 99.0), ("u", "p2", 50.0), ("u", "p4", 1.0), ("u", "p5", 7.0)],
        "customer_unique_id string, product_id string, score double",
    )
    bought = spark.createDataFrame([("u", "p5")], "customer_unique_id string, product_id string")
    rows = top_k(users, [("co_purchase", chosen), ("global_popularity", fallback)], bought, 5).orderBy("rank").collect()
    assert [(r.product_id, r.source) for r in rows] == [
        ("p1", "co_purchase"),
        ("p2", "co_purchase"),
        ("p3", "category_popularity"),
        ("p9", "global_popularity"),
        ("p4", "global_popularity"),
    ]


def test_bootstrap_means_are_means_of_resampled_users_and_one_draw_serves_every_model() -> None:
    import numpy as np

    from olist_recommender.evaluation import bootstrap_means, bootstrap_weights, paired_bootstrap_means

    values = np.random.default_rng(7).random((53, 4))
    weights = bootstrap_weights(53, 30, seed=5)
    assert weights.shape == (30, 53) and (weights.sum(axis=1) == 53).all() and (weights == weights.round()).all()
    means = bootstrap_means(values, weights)
    # each sample: the plain mean of the users drawn, each as often as its weight says
    for s in range(30):
        drawn = np.repeat(np.arange(53), weights[s].astype(int))
        assert np.allclose(means[s], values[drawn].mean(axis=0))
    # the same seed draws the same users: another model on the same users is resampled identically (paired)
    assert (bootstrap_weights(53, 30, seed=5) == weights).all()
    assert not (bootstrap_weights(53, 30, seed=6) == weights).all()
    # drawn in chunks of samples (memory at 10x): the same draws as one call with the same seed
    drawn = (np.random.default_rng(5).random((130, 53)) * 53).astype(int)
    one_call = np.array([np.bincount(row, minlength=53) for row in drawn])
    assert (bootstrap_weights(53, 130, seed=5) == one_call).all()
    # a multinomial(n, 1/n each): every user drawn once a sample on average, with variance 1 - 1/n
    many = bootstrap_weights(53, 20_000, seed=9).astype(float)
    assert np.abs(many.mean(axis=0) - 1).max() < 0.05 and np.abs(many.var(axis=0) - 52 / 53).max() < 0.08
    assert np.abs(np.corrcoef(many[:, :2].T)[0, 1] + 1 / 52) < 0.03  # two users' counts: correlation -1/(n-1)
    # several models' values under the same draws: each the same as resampled alone
    others = [values, values[:, ::-1] * 2, np.ones((53, 1))]
    for paired, matrix in zip(paired_bootstrap_means(others, weights), others, strict=True):
        assert np.array_equal(paired, bootstrap_means(matrix, weights))
    with pytest.raises(ValueError, match="weights for 53 users, values for 52"):
        paired_bootstrap_means([values, values[:52]], weights)
    assert bootstrap_means(np.zeros((0, 4)), bootstrap_weights(0, 30, seed=5)).shape == (30, 4)
    with pytest.raises(ValueError, match="weights for 53 users, values for 52"):
        bootstrap_means(values[:52], weights)


@pytest.mark.parametrize(("columns", "n"), [(1, 1), (7, 3), (1_000, 10), (2_053, 1), (2_053, 2_053)])
def test_each_row_keeps_its_n_best_scores_ties_to_the_lower_column(columns: int, n: int) -> None:
    import numpy as np

    from olist_recommender.recommenders import row_top_n

    # small integers: many ties, also at the n-th place
    scores = np.random.default_rng(columns).integers(0, 20, size=(37, columns)).astype(np.float32)
    row, column, value = row_top_n(scores, n)
    expected = [sorted(range(columns), key=lambda c, r=r: (-scores[r, c], c))[:n] for r in range(len(scores))]
    assert row.tolist() == [r for r in range(len(scores)) for _ in range(n)]
    assert column.tolist() == [c for cs in expected for c in cs]
    assert value.tolist() == [scores[r, c] for r, cs in enumerate(expected) for c in cs]


def test_als_candidates_are_the_models_own_top_n(spark) -> None:
    import numpy as np
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import functions as F

    from olist_recommender.recommenders import AlsFit, als_candidates

    rng = np.random.default_rng(7)
    ratings = [(int(u), int(i), float(rng.integers(1, 5))) for u in range(60) for i in rng.choice(45, 6, replace=False)]
    df = spark.createDataFrame(ratings, "user_index int, item_index int, rating float")
    model = ALS(userCol="user_index", itemCol="item_index", rank=4, maxIter=3, seed=1, implicitPrefs=True).fit(df)
    user_index = spark.createDataFrame([(f"c{u}", u) for u in range(60)], "customer_unique_id string, user_index int")
    item_index = spark.createDataFrame([(f"p{i}", i) for i in range(45)], "product_id string, item_index int")
    fit = AlsFit(model=model, user_index=user_index, item_index=item_index, params={})
    # customer c99 is unknown to the model (cold start): no candidates
    users = spark.createDataFrame([(f"c{u}",) for u in (*range(0, 60, 3), 99)], "customer_unique_id string")

    got = {(r.customer_unique_id, r.product_id): r.score for r in als_candidates(fit, users, 5).collect()}
    spark_top = (
        model.recommendForUserSubset(users.join(user_index, "customer_unique_id"), 5)
        .select("user_index", F.explode("recommendations").alias("r"))
        .select(
            F.concat(F.lit("c"), "user_index").alias("u"), F.concat(F.lit("p"), "r.item_index").alias("p"), "r.rating"
        )
        .collect()
    )
    assert set(got) == {(r.u, r.p) for r in spark_top} and len(got) == 20 * 5
    assert all(math.isclose(got[(r.u, r.p)], r.rating, rel_tol=1e-5, abs_tol=1e-6) for r in spark_top)


def test_shared_lists_cut_per_customer_give_the_same_top_k_as_uncut_lists(spark) -> None:
    import datetime as dt
    import random

    from pyspark.sql import functions as F

    from olist_recommender import recommenders as rec

    rng = random.Random(3)
    # categories of 9, 5, 5 and 2 products: a buyer of one product of a 5-product category alone needs one product
    # after it (5 listed, 1 bought: 4 < k), a buyer of the 2-product category several
    category = {f"p{i:02d}": c for i, c in enumerate("a" * 9 + "b" * 5 + "c" * 5 + "d" * 2)}
    rows = set()
    for u in range(60):
        for p in rng.sample(sorted(category), rng.choice([1, 1, 1, 2, 3, 6])):
            rows.add((f"u{u:02d}", p))
    rows |= {("u90", "p19"), ("u91", "p20"), ("u91", "p19"), ("u92", "p09")}  # buyers of category d or b only
    interactions = spark.createDataFrame(
        [(u, p, category[p], 1.0, 3.0) for u, p in sorted(rows)],
        "customer_unique_id string, product_id string, product_category_name_english string, "
        "implicit_confidence double, explicit_rating double",
    )
    segments = spark.createDataFrame(
        [(f"u{u:02d}", "s" + str(u % 3)) for u in range(93)], "customer_unique_id string, segment string"
    )
    data = rec.TrainingData(purchases=None, interactions=interactions, segments=segments, as_of=dt.datetime(2018, 1, 1))
    users = spark.createDataFrame(
        [(f"u{u:02d}",) for u in range(93)], "customer_unique_id string"
    )  # u60-u89: no history
    k = 5
    n = k + data.depth
    lengths = rec.list_lengths(data, users, k)
    uncut = users.withColumn("list_length", F.lit(n))  # every shared list at its full length, for every user
    popular = data.popularity
    short = rec.category_shortfall(data, lengths)
    cases = {
        "global": ([rec.for_everyone(lengths, popular, n)], [rec.for_everyone(uncut, popular, n)]),
        "segment": (
            [rec.segment_popularity(data, lengths, n), rec.for_everyone(lengths, popular, n)],
            [rec.segment_popularity(data, uncut, n), rec.for_everyone(uncut, popular, n)],
        ),
        "category": (
            [rec.within_length(rec.category_popularity(data, lengths, n)), rec.for_everyone(short, popular, n)],
            [rec.within_length(rec.category_popularity(data, uncut, n)), rec.for_everyone(uncut, popular, n)],
        ),
    }

    def ranked(sources: list) -> list:
        named = [(f"source{i}", s) for i, s in enumerate(sources)]
        return sorted(map(tuple, rec.top_k(users, named, data.bought(), k).collect()))

    lists = {}
    for name, (cut, full) in cases.items():
        lists[name] = ranked(cut)
        assert lists[name] == ranked(full), name
        # the cut lists are shorter: the test compares something
        assert sum(s.count() for s in cut) < sum(s.count() for s in full), name
    # every user gets k products: the lists were long enough
    assert len(lists["category"]) == 93 * k
    shortfall = {r.customer_unique_id for r in short.collect()}
    assert {"u90", "u91", "u92"} | {f"u{u}" for u in range(60, 90)} <= shortfall and len(shortfall) < 93


def test_customers_who_bought_the_same_set_share_the_lowest_id_of_them(spark) -> None:
    import datetime as dt

    from olist_recommender import recommenders as rec

    bought = [("u3", "a"), ("u3", "b"), ("u1", "b"), ("u1", "a"), ("u2", "a"), ("u4", "a"), ("u4", "c")]
    interactions = spark.createDataFrame(
        [(u, p, "x", 1.0, 3.0) for u, p in bought],
        "customer_unique_id string, product_id string, product_category_name_english string, "
        "implicit_confidence double, explicit_rating double",
    )
    data = rec.TrainingData(purchases=None, interactions=interactions, segments=None, as_of=dt.datetime(2018, 1, 1))
    customers = spark.createDataFrame([(f"u{i}",) for i in range(1, 7)], "customer_unique_id string")
    mapped = dict(map(tuple, rec.customers_by_bought_set(data, customers).collect()))
    # {a, b} bought in either order, {a}, {a, c}; u5 and u6 bought nothing: the empty set
    assert mapped == {"u1": "u1", "u3": "u1", "u2": "u2", "u4": "u4", "u5": "u5", "u6": "u5"}


@pytest.mark.parametrize("model", ["co_purchase", "category_popularity"])
def test_serving_one_customer_per_bought_set_gives_every_customer_their_own_list(
    spark, default_warehouse, model
) -> None:
    """`serve` ranks one customer per set of bought products for the models whose lists read nothing else of a
    customer, and copies the list to the others: the same rows as ranking every customer."""
    from olist_recommender import job
    from olist_recommender import recommenders as rec

    config = _config(default_warehouse.schema)
    inputs = read_inputs(spark, config)
    served = {by_set: job.serve(inputs, config, model, {}, by_bought_set=by_set)[0].cache() for by_set in (True, False)}
    assert served[True].count() == served[False].count() == inputs.customers.count() * K
    assert served[True].exceptAll(served[False]).count() == 0 and served[False].exceptAll(served[True]).count() == 0
    # the grouping ranked fewer customers than there are: the comparison is not of two identical computations
    data = rec.TrainingData(purchases=None, interactions=inputs.interactions, segments=None, as_of=None)
    by_set = rec.customers_by_bought_set(data, inputs.customers)
    assert by_set.select("representative_id").distinct().count() < inputs.customers.count()
    for frame in served.values():
        frame.unpersist()


def test_every_model_gives_every_cold_test_user_one_list_and_the_evaluation_ranks_it_once(
    spark, default_warehouse
) -> None:
    """The evaluation ranks the warm test users' lists and one cold user's, which every cold user gets
    (`users_to_rank`). That holds only while no model knows anything about a user without purchases before the
    cut-off: ranked one by one, every cold test user gets the same list from each model, and the evaluation frame
    built from the one shared list is the frame built from every user's own."""
    from pyspark.sql import functions as F

    from olist_recommender import job
    from olist_recommender.split import default_cutoffs, make_split

    config = _config(default_warehouse.schema)
    inputs = read_inputs(spark, config)
    cutoff = default_cutoffs(inputs.purchases, config)[0]
    split, data = job.split_at(inputs, config, cutoff)
    # its test pairs and users, found with the cached training interactions, are those found in the purchases
    plain = make_split(inputs.purchases, cutoff, config.test_window_days)
    for mine, theirs in ((split.test, plain.test), (split.test_users, plain.test_users)):
        assert mine.exceptAll(theirs).count() == 0 == theirs.exceptAll(mine).count()
    grid = {"rank": 8, "reg_param": 0.1, "alpha": 10.0, "max_iter": 5}
    als = job._fit_als_models(data, config, {"als_implicit": grid, "als_explicit": grid}, config.models)
    test_users = split.test_users.cache()
    product_codes = job.make_product_codes(inputs)

    def ranked_lists(users):
        return job.recommend_models(config.models, data, users, 20, config, als, {}).cache()

    each = ranked_lists(test_users)
    cold = test_users.where("user_group = 'cold'")
    n_cold, n_warm = cold.count(), test_users.count() - cold.count()
    assert n_cold >= 20 and n_warm >= 3, (n_cold, n_warm)
    lists = (
        each.join(cold, "customer_unique_id")
        .groupBy("model", "customer_unique_id")
        .agg(F.array_join(F.sort_array(F.collect_list(F.struct("rank", "product_id"))).product_id, ",").alias("l"))
        .groupBy("model")
        .agg(F.countDistinct("l").alias("lists"), F.count("*").alias("users"))
    )
    per_model = {r.model: (r.lists, r.users) for r in lists.collect()}
    # pure ALS knows no cold user: no list; every other model: one list for all of them
    assert per_model == {m: (1, n_cold) for m in config.models if m not in ("als_implicit", "als_explicit")}

    ranked_users, cold_user = job.users_to_rank(test_users)
    assert ranked_users.count() == n_warm + 1 and cold.where(F.col("customer_unique_id") == cold_user).count() == 1
    shared_lists = ranked_lists(ranked_users)
    models = config.models
    frame = evaluation_frame(shared_lists, split.test, test_users, product_codes, models, cold_user)
    expected = evaluation_frame(each, split.test, test_users, product_codes, models)
    assert frame.count() == expected.count() == (n_warm + n_cold) * len(models)
    assert frame.exceptAll(expected).count() == 0 and expected.exceptAll(frame).count() == 0

    # the job's frame: a row per cold user, scored on each model's cold list, with the same metrics and coverage
    compact, cold_lists = compact_evaluation_frame(
        shared_lists, split.test, test_users, product_codes, models, cold_user
    )
    assert compact.count() == n_warm * len(models) + n_cold and set(cold_lists) == set(models)
    assert all(cold_lists[m] for m in models if m not in ("als_implicit", "als_explicit"))
    got = evaluate_groups(compact, config.ks, 1000, models, cold_lists=cold_lists)
    want = evaluate_groups(expected, config.ks, 1000, models)
    for model in models:
        for group in ("warm", "cold", "all"):
            mine, reference = got[model][group], want[model][group]
            assert mine.n_users == reference.n_users and mine.coverage == reference.coverage, (model, group)
            assert np.array_equal(mine.values, reference.values), (model, group)
    assert sum(want[m]["cold"].values.sum() for m in models) > 0  # some cold user hit: the lists were scored


def test_cutoff_features_given_every_purchase_are_the_dbt_marts(spark, default_warehouse) -> None:
    """At each cut-off the job rebuilds interactions and RFM segments from the purchases before it, with dbt's
    formulas; given every purchase, they must be the marts' rows: segment by segment, value by value."""
    from pyspark.sql import functions as F

    from olist_recommender.split import interactions_from_purchases, rfm_segments_at

    config = _config(default_warehouse.schema)
    inputs = read_inputs(spark, config)
    key = ["customer_unique_id"]
    segments = rfm_segments_at(inputs.purchases, inputs.rfm_segments).withColumnRenamed("segment", "job_segment")
    compared = inputs.customer_rfm.select(*key, "segment").join(segments, key, "full")
    assert compared.count() == inputs.customer_rfm.count() > 100
    differing = compared.where(~F.col("segment").eqNullSafe(F.col("job_segment")))
    assert differing.count() == 0, differing.limit(5).collect()

    columns = ["purchase_count", "monetary_value", "implicit_confidence", "explicit_rating"]
    key = ["customer_unique_id", "product_id"]
    job = interactions_from_purchases(inputs.purchases, config).select(
        *key, *[F.col(c).alias(f"job_{c}") for c in columns]
    )
    compared = inputs.interactions.select(*key, *columns).join(job, key, "full")
    assert compared.count() == inputs.interactions.count()
    # reviewed pairs bought in more than one order: where a mean over items and a mean over orders part
    assert inputs.interactions.where("purchase_count > 1 and mean_review_score is not null").count() > 0
    for c in columns:
        differing = compared.where(~(F.abs(F.col(c) - F.col(f"job_{c}")) <= 1e-9))
        assert differing.count() == 0, (c, differing.limit(5).collect())


def test_another_process_on_the_shared_catalog_gets_the_same_run(
    spark, default_warehouse, shared, thrift_warehouse, session_dir
) -> None:
    """Same data, same configuration, same results, whatever the process and the catalog: the thrift fixture's job
    (its own Python and JVM, another PYTHONHASHSEED, the Hive metastore service, built by dbt over Thrift) and this
    session's job on the embedded catalog publish the same evaluation and the same recommendations."""
    from conftest import THRIFT_SCHEMA, thrift_job_command, thrift_query
    from olist_recommender.job import run

    command = thrift_job_command(session_dir)
    config = load_config(command[command.index("--config") + 1], overrides={"schema": default_warehouse.schema})
    mine = run(spark, config, run_id="r_cross_process")
    theirs = f"{THRIFT_SCHEMA}_marts"
    [(run_id, chosen)] = thrift_query(
        shared, f"select run_id, chosen_model from {theirs}.recommendation_runs order by started_at limit 1"
    )
    assert chosen == mine.chosen_model

    key = ("model", "cutoff", "user_group", "k", "metric")
    values = ("value", "ci_low", "ci_high", "n_users")
    their_rows = thrift_query(
        shared,
        f"select {', '.join(key + values)} from {theirs}.recommendation_evaluation where run_id = '{run_id}'",
    )
    # NULL (no interval for coverage) reaches pandas as NaN
    their_evaluation = {tuple(r[:5]): tuple(None if v != v else v for v in r[5:]) for r in their_rows}
    my_evaluation = {tuple(r[c] for c in key): tuple(r[c] for c in values) for r in mine.evaluation}
    assert len(my_evaluation) > 100 and their_evaluation == my_evaluation

    columns = "customer_unique_id, rank, product_id, score, source"
    their_recs = sorted(thrift_query(shared, f"select {columns} from {theirs}.recommendations_by_customer"))
    my_recs = sorted(
        map(
            tuple,
            spark.sql(
                f"select {columns} from {default_warehouse.schema}_marts.recommendations_by_customer "
                "where run_id = 'r_cross_process'"
            ).collect(),
        )
    )
    assert len(my_recs) > 1000 and their_recs == my_recs
