"""One way to get a SparkSession on the project's warehouse, for the ALS job, the SQL CLI and the tests.

The session sees the same catalog that dbt's target wrote to:
- default: the embedded Hive metastore (Derby) and warehouse under OLIST_WAREHOUSE_DIR, as dbt's `session` target;
- HIVE_METASTORE_URIS set: a shared Hive metastore service (the `thrift` target's catalog; `make services-up`
  starts one with a Thrift server on this machine). New tables go under SPARK_WAREHOUSE_DIR when set, else where
  the cluster's spark-defaults / hive-site say.
The master comes from SPARK_MASTER when set; otherwise from spark-submit / spark-defaults (local only by default
of Spark itself), so the same code runs under `spark-submit --master yarn|k8s|spark://...`.
Python workers (ALS scoring runs numpy next to the data) use PYSPARK_PYTHON, or `spark-submit --conf
spark.pyspark.python=...`; when neither is set, this interpreter (the project's virtualenv), not the `python3` on PATH.
On a cluster, point either at a Python with the project's requirements on every node.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

PROJECT_DIR = Path(__file__).resolve().parents[2]


def warehouse_dir() -> Path:
    return Path(os.environ.get("OLIST_WAREHOUSE_DIR", PROJECT_DIR / "warehouse")).resolve()


def project_home() -> Path:
    """The dbt project's folder: OLIST_HOME (the Makefile sets it), else this checkout."""
    return Path(os.environ.get("OLIST_HOME", PROJECT_DIR))


def native_netlib_path() -> Path | None:
    """The C library with the linear algebra of Spark ALS's fits (native/dppsv.c and native/blas.c, built by
    `make venv` into the virtualenv's lib/), or OLIST_NATIVE_NETLIB's path; None when it is not there or
    OLIST_NATIVE_NETLIB is "off"."""
    configured = os.environ.get("OLIST_NATIVE_NETLIB")
    if configured == "off":
        return None
    path = Path(configured) if configured else Path(sys.prefix) / "lib" / "libolist_netlib.so"
    return path.resolve() if path.is_file() else None


def jit_directive_options() -> str:
    """The JVM options that give HotSpot the project's compiler directives (conf/jit-directives.json: Spark's
    generated classes compiled by C1 only), or "" when the file is not there or OLIST_JIT_DIRECTIVES is "off".

    Most of Spark's generated classes run a few times on small inputs, and C2 compiling them took about a quarter of
    the JIT's time in a 1x build: left to C1, `make run` at 1x was 5-7% faster, and the 10x steps measured were not
    slower (benchmarks/RESULTS.md). The file must exist where the JVM starts (HotSpot refuses to start without it),
    hence the check. The option that reads it is a diagnostic one, so it is unlocked first. Only a JVM this process
    launches gets the options: under spark-submit the driver's JVM is running already, and executors keep C2."""
    if os.environ.get("OLIST_JIT_DIRECTIVES") == "off":
        return ""
    path = project_home() / "conf" / "jit-directives.json"
    if not path.is_file():
        return ""
    return f"-XX:+UnlockDiagnosticVMOptions -XX:CompilerDirectivesFile={path.resolve()}"


def spark_session(
    app_name: str = "olist-recommender", extra_conf: dict[str, str] | None = None, native_netlib: bool = False
) -> SparkSession:
    """The session; with `native_netlib`, Spark ALS's fits run their linear algebra on the project's C library when
    it is built (native_netlib_path): LAPACK's dppsv, the Cholesky solve of each user's and item's least-squares
    system, and the BLAS routines that build those systems (dspr, daxpy) and scale the initial factors (snrm2,
    sscal), not netlib's Java code: the same factors to the last bit, faster fits. netlib loads it for every LAPACK
    and every native BLAS routine, and it has only those: ask for it where ALS is the JVM's only user of them (the
    job, the tests, the benchmark). It is the driver's option, which in local mode is where the tasks run; a
    cluster's executors keep netlib's Java code unless spark-submit gives them the same
    `-Ddev.ludovic.netlib.lapack.nativeLibPath` and `-Ddev.ludovic.netlib.blas.nativeLibPath`
    (spark.executor.extraJavaOptions) and the file; where the file is missing netlib falls back to its Java code."""
    wh = warehouse_dir()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    wh.mkdir(parents=True, exist_ok=True)
    log4j = project_home() / "conf" / "log4j2.properties"
    builder = SparkSession.builder.appName(app_name).enableHiveSupport()
    if os.environ.get("SPARK_MASTER"):
        builder = builder.master(os.environ["SPARK_MASTER"])
    conf = {
        # the JVM fills whatever heap it is given before collecting: 2.75g holds the 10x job and dbt's build before
        # it (`--dbt-build`), and the whole process tree (JVM, Python driver with dbt, Python scoring workers) stays
        # under 6 GiB; 4g cost 1 GiB more RSS than 3g at the same speed
        "spark.driver.memory": os.environ.get("SPARK_DRIVER_MEMORY", "2816m"),
        # the parallel collector, not G1: on 2 cores G1's concurrent work competed with the tasks (the 10x job 14%
        # faster, 125 MiB less resident; benchmarks/RESULTS.md); Spark's generated classes left to C1
        "spark.driver.extraJavaOptions": (
            f"-XX:+UseParallelGC -Dderby.system.home={wh} -Dlog4j2.configurationFile=file:{log4j} "
            + jit_directive_options()
        ).strip(),
        "spark.sql.shuffle.partitions": os.environ.get("SPARK_SHUFFLE_PARTITIONS", "4"),
        # Spark sizes its memory pages from the heap (32 MiB here), and every hash join, aggregation or sort takes at
        # least one: a broadcast hash relation of a few rows held a whole page for as long as its plan lived, 700 MiB
        # of the 1x job's heap. 2 MiB pages: half the collector's pauses, `make run` at 1x 2-7% faster
        "spark.buffer.pageSize": os.environ.get("SPARK_BUFFER_PAGE_SIZE", "2m"),
        # adaptive query execution re-plans at every shuffle: on this project's small, cached data that costs more
        # than it saves (one cut-off's 8 models: 72 s with it, 50 s without); SPARK_SQL_ADAPTIVE=true turns it on
        "spark.sql.adaptive.enabled": os.environ.get("SPARK_SQL_ADAPTIVE", "false"),
        # the job runs the same query shapes at every cut-off and grid point: with Spark's default of 100 generated
        # classes kept, the 1x job compiled 2,112 of them (Janino, then the JIT again); with 1,000 kept, 828, and the
        # job ran 12% faster (benchmarks/RESULTS.md)
        "spark.sql.codegen.cache.maxEntries": os.environ.get("SPARK_CODEGEN_CACHE_ENTRIES", "1000"),
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    netlib = native_netlib_path() if native_netlib else None
    if netlib is not None:
        for routines in ("lapack", "blas"):
            conf["spark.driver.extraJavaOptions"] += f" -Ddev.ludovic.netlib.{routines}.nativeLibPath={netlib}"
    if os.environ.get("HIVE_METASTORE_URIS"):
        conf["spark.hadoop.hive.metastore.uris"] = os.environ["HIVE_METASTORE_URIS"]
    else:
        conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = f"jdbc:derby:;databaseName={wh}/metastore_db;create=true"
        conf["spark.sql.warehouse.dir"] = str(wh / "spark-warehouse")
    if os.environ.get("SPARK_WAREHOUSE_DIR"):
        conf["spark.sql.warehouse.dir"] = os.environ["SPARK_WAREHOUSE_DIR"]
    for key, value in {**conf, **(extra_conf or {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
