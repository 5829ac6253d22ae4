"""Smoke test of `make bench`: every stage runs at a tiny scale and the figures come out (no timing assertions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_the_benchmark_measures_every_stage_at_a_tiny_scale(session_dir: Path) -> None:
    job_config = session_dir / "bench_job.json"
    job_config.write_text(
        json.dumps(
            {
                "models": ["global_popularity", "als_implicit"],
                "n_cutoffs": 1,
                "bootstrap_samples": 20,
                "implicit_grid": {"rank": [4], "alpha": [10.0], "max_iter": [3]},
            }
        )
    )
    out = session_dir / "bench.json"
    env = {**os.environ, "OLIST_WAREHOUSE_DIR": str(session_dir / "bench_warehouse")}
    command = [sys.executable, "benchmarks/bench.py", "--scales", "0.01", "--job-config", str(job_config),
               "--rank", "8", "--iterations", "3", "--out", str(out)]  # fmt: skip
    run = subprocess.run(command, env=env, capture_output=True, text=True, cwd=PROJECT_DIR)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    result = json.loads(out.read_text())
    assert result["machine"]["cores"] >= 1 and result["machine"]["pyspark"]
    [scale] = result["results"]
    stages = scale["stages"]
    assert set(stages) == {"generate", "dbt_build", "job", "compare"}
    for name, stage in stages.items():
        assert stage["seconds"] > 0, name
    # a JVM is part of every stage but generation: its resident memory is hundreds of MiB
    assert all(stages[name]["peak_rss_mib"] > 150 for name in ("dbt_build", "job", "compare"))
    assert all(
        0 < stages[name]["peak_pss_mib"] <= stages[name]["peak_rss_mib"] for name in ("dbt_build", "job", "compare")
    )
    assert stages["generate"]["rows"] > 1000 and stages["generate"]["files"]["olist_orders_dataset"] > 0
    # dbt build and the job ran as `make run` runs them: one process (`--dbt-build`), split at the build's end
    assert stages["dbt_build"]["process"] == stages["job"]["process"] == "one process with the job"
    assert stages["dbt_build"]["failed"] == [] and stages["dbt_build"]["tests"] > 100
    assert stages["dbt_build"]["model_node_seconds"] > 0 and stages["dbt_build"]["test_node_seconds"] > 0
    job = stages["job"]
    assert set(job["stage_seconds"]) == {"read", "evaluate", "train", "recommend", "write"}
    assert job["rows"] > 0 and job["recommendations"] > 0
    compare = stages["compare"]
    assert compare["spark_fit_seconds"] > 0 and compare["implicit_fit_seconds"] > 0
    assert compare["implicit_fit_seconds"] == min(compare["implicit_fit_seconds_each"])
    assert len(compare["implicit_fit_seconds_each"]) == 3
    assert 0.0 <= compare["spark_precision"] <= 1.0 and 0.0 <= compare["implicit_precision"] <= 1.0
    assert compare["scores"] == compare["users"] * compare["items"] > 0
    assert compare["matmul_gflops"] > 0 and compare["topk_vs_floor"] > 0 and compare["spark_builtin_topk_seconds"] > 0
    assert scale["pipeline_seconds"] == round(sum(stages[s]["seconds"] for s in ("generate", "dbt_build", "job")), 1)
    for line in ("== scale 0.01", "dbt build", "top-K for all customers", "Spark ALS fit", "implicit ALS fit",
                 "top-K for all users", "numpy float32 matmul floor"):  # fmt: skip
        assert line in run.stdout, line
