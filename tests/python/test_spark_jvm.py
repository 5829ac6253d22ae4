"""The Spark session's JVM: what olist_recommender.spark asks of HotSpot holds in the running JVM."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from pyspark.sql import functions as F

GENERATED = "org.apache.spark.sql.catalyst.expressions.GeneratedClass"


def _compiled_generated_methods(spark) -> dict[str, set[int]]:
    """Each of Spark's generated methods in the JVM's code cache, with the tiers it is compiled at (`jcmd PID
    Compiler.codelist`: one line per compiled method, `<compile id> <tier> <state> <method> ...`)."""
    jvm = spark._jvm
    jcmd = Path(jvm.java.lang.System.getProperty("java.home")) / "bin" / "jcmd"
    pid = str(jvm.java.lang.ProcessHandle.current().pid())
    listing = subprocess.run([str(jcmd), pid, "Compiler.codelist"], capture_output=True, text=True, check=True).stdout
    tiers: dict[str, set[int]] = {}
    for line in listing.splitlines():
        match = re.match(r"\s*\d+\s+(\d)\s+\d+\s+(\S+)", line)
        if match and match.group(2).startswith(GENERATED):
            tiers.setdefault(match.group(2), set()).add(int(match.group(1)))
    return tiers


def test_spark_generated_classes_are_compiled_by_c1_only(spark) -> None:
    if os.environ.get("OLIST_JIT_DIRECTIVES") == "off":
        pytest.skip("OLIST_JIT_DIRECTIVES=off: the directives are switched off for this run")
    arguments = list(spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert any(a.startswith("-XX:CompilerDirectivesFile=") and a.endswith("jit-directives.json") for a in arguments)
    # a generated projection called tens of millions of times: without the directives C2 compiles it (tier 4)
    n = 30_000_000
    hot = spark.range(0, n, numPartitions=2).select((F.col("id") * 3 + 1).alias("x"))
    tiers: dict[str, set[int]] = {}
    for _ in range(3):
        assert hot.agg(F.sum("x")).first()[0] == 3 * n * (n - 1) // 2 + n
        time.sleep(1)  # compilations run in the background
        tiers = _compiled_generated_methods(spark)
        if any(4 in t for t in tiers.values()):
            break
    assert tiers, "no generated method was compiled at all: the query did not exercise the JIT"
    assert not {m: t for m, t in tiers.items() if 4 in t}, "C2 compiled Spark's generated code"
