"""`dbt build` in the job's own process, on the job's own Spark session (`python -m olist_recommender --dbt-build`).

dbt-spark's `session` target opens Spark with `SparkSession.builder.getOrCreate()`, so a build started after the job
has opened its session runs every model and test on that same JVM, and the job then reads the marts from it. One
JVM for the whole pipeline instead of two saves a JVM start, a metastore connection and, above all, the JIT's second
warm-up of Spark's own code (benchmarks/RESULTS.md). The job's session settings (`spark_session()`) apply to the
build: the JVM's static settings are fixed by then, and dbt's profile renders the same runtime ones.
On the `thrift` target dbt sends its statements to the Thrift server as usual and only the job runs here.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbt.contracts.graph.manifest import Manifest

log = logging.getLogger(__name__)


class DbtBuildError(RuntimeError):
    """`dbt build` failed or could not run; the job must not run on marts it did not finish."""


def parse_project(project_dir: Path) -> Manifest:
    """`dbt parse` of the project in this process: its manifest, for `dbt_build`. Raises DbtBuildError.

    Parsing opens no connection, so it runs while the job's Spark session starts: dbt's Python and the JVM each have
    a core then, and the build starts that much sooner (`python -m olist_recommender --dbt-build`)."""
    from dbt.cli.main import dbtRunner

    started = time.perf_counter()
    outcome = dbtRunner().invoke(["parse", "--project-dir", str(project_dir)])
    if outcome.exception is not None or not outcome.success:
        raise DbtBuildError(f"dbt could not parse the project in {project_dir}: {outcome.exception}")
    log.info("dbt parse done in %.1fs", time.perf_counter() - started)
    return outcome.result


def dbt_build(project_dir: Path, manifest: Manifest) -> None:
    """Run `dbt build` on the project in this process. Raises DbtBuildError naming what failed.

    dbt reads its usual environment: DBT_TARGET, DBT_SCHEMA, DBT_PROFILES_DIR, OLIST_DATA_DIR, DBT_TARGET_PATH, ...
    `manifest`: the project as `parse_project` parsed it.
    """
    from dbt.cli.main import dbtRunner

    started = time.perf_counter()
    outcome = dbtRunner(manifest=manifest).invoke(["build", "--project-dir", str(project_dir)])
    seconds = time.perf_counter() - started
    if outcome.exception is not None:
        raise DbtBuildError(f"dbt build could not run: {outcome.exception}")
    results = list(getattr(outcome.result, "results", None) or [])
    if not outcome.success:
        failed = [f"{r.node.name} ({r.status})" for r in results if str(r.status) in ("error", "fail")]
        skipped = sum(str(r.status) == "skipped" for r in results)
        raise DbtBuildError(
            f"dbt build failed: {len(failed)} of {len(results)} nodes failed or errored: "
            f"{', '.join(failed[:10])}{' ...' if len(failed) > 10 else ''}; {skipped} skipped after them"
        )
    log.info("dbt build done in %.1fs: %s nodes, none failed", seconds, f"{len(results):,}")
