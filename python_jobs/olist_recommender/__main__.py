"""CLI: python -m olist_recommender [--config FILE] [--schema S] [--top-k K] ...  (also: spark-submit run_job.py)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from olist_recommender.config import ConfigError, load_config


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="olist_recommender", description="Train, evaluate and publish Olist recommendations."
    )
    p.add_argument("--config", help="JSON file of options (see README); command-line options override it")
    p.add_argument("--schema", help="dbt target schema (marts are read from <schema>_marts); default olist")
    p.add_argument("--top-k", type=int, dest="top_k", help="recommendations per customer (default 10)")
    p.add_argument(
        "--top-n-per-segment", type=int, dest="top_n_per_segment", help="products per RFM segment (default 20)"
    )
    p.add_argument(
        "--models", type=lambda s: [x for x in s.split(",") if x], help="models to compare (default: all eight)"
    )
    p.add_argument("--ks", type=lambda s: [int(x) for x in s.split(",")], help="evaluation K values, e.g. 5,10,20")
    p.add_argument("--cutoffs", type=lambda s: [x for x in s.split(",") if x], help="ISO dates; default: derived")
    p.add_argument("--n-cutoffs", type=int, dest="n_cutoffs", help="rolling-origin cut-offs when derived (default 3)")
    p.add_argument(
        "--test-window-days", type=int, dest="test_window_days", help="test window after a cut-off (default 60)"
    )
    p.add_argument("--seed", type=int, help="random seed (ALS, bootstrap); default 42")
    p.add_argument("--bootstrap-samples", type=int, dest="bootstrap_samples")
    p.add_argument("--confidence-column", dest="confidence_column")
    p.add_argument("--rating-column", dest="rating_column")
    p.add_argument("--checkpoint-dir", dest="checkpoint_dir", help="ALS checkpoint dir (HDFS/S3 on a cluster)")
    p.add_argument(
        "--dbt-build",
        action="store_true",
        dest="dbt_build",
        help="first run `dbt build` of --schema in this process, on the job's Spark session: one JVM for the whole "
        "pipeline (as `make run`); the job does not run if a model or test fails",
    )
    p.add_argument("--fail-after-stage", dest="fail_after_stage", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    log = logging.getLogger("olist_recommender")
    overrides = {k: v for k, v in vars(args).items() if k not in ("config", "dbt_build")}
    try:
        config = load_config(args.config, overrides)
    except ConfigError as exc:
        log.error("bad configuration: %s", exc)
        return 2

    from olist_recommender.build import DbtBuildError, dbt_build, parse_project
    from olist_recommender.data import InputError
    from olist_recommender.job import run
    from olist_recommender.report import summary
    from olist_recommender.spark import project_home, spark_session

    if not args.dbt_build:
        spark = spark_session(app_name="olist-recommender", native_netlib=True)
    else:
        os.environ["DBT_SCHEMA"] = config.schema  # dbt builds the schema the job reads
        project = project_home()
        try:
            with ThreadPoolExecutor(max_workers=1) as pool:
                # dbt parses the project (Python, no connection) while the JVM starts and meets the metastore
                parsed = pool.submit(parse_project, project)
                # the session before the build, so that its settings (driver memory, class cache, ...) hold for it
                spark = spark_session(app_name="olist-recommender", native_netlib=True)
                spark.catalog.listDatabases()  # the metastore's first connection, a few seconds, meanwhile too
                manifest = parsed.result()
            dbt_build(project, manifest)
        except DbtBuildError as exc:
            log.error("%s; the recommendation job did not run", exc)
            return 1
    try:
        result = run(spark, config)
    except (ConfigError, InputError) as exc:
        log.error("recommendation run failed: %s", exc)
        return 2
    except Exception as exc:
        log.exception("recommendation run failed: %s — the previously published tables are unchanged", exc)
        return 1
    print(summary(spark, config, result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
