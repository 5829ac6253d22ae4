"""Smoke test of `make bench`: every stage runs at a tiny scale and the figures come out (no timing assertions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def _bench(session_dir: Path, name: str, *options: str) -> tuple[subprocess.CompletedProcess, dict]:
    """benchmarks/bench.py at scale 0.01 in a warehouse of its own: the finished process and its JSON figures."""
    out = session_dir / f"{name}.json"
    env = {**os.environ, "OLIST_WAREHOUSE_DIR": str(session_dir / f"{name}_warehouse")}
    command = [sys.executable, "benchmarks/bench.py", "--scales", "0.01", *options, "--out", str(out)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, cwd=PROJECT_DIR)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run, json.loads(out.read_text())


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
    run, result = _bench(session_dir, "bench", "--job-config", str(job_config), "--rank", "8", "--iterations", "3")
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
    # each library fitted 3 times, the fastest compared
    for library in ("spark", "implicit"):
        assert len(compare[f"{library}_fit_seconds_each"]) == 3, library
        assert compare[f"{library}_fit_seconds"] == min(compare[f"{library}_fit_seconds_each"]), library
    assert 0.0 <= compare["spark_precision"] <= 1.0 and 0.0 <= compare["implicit_precision"] <= 1.0
    # P@K compared by a paired bootstrap over the warm test users: intervals around the means, equal when 0 is inside
    for library in ("spark", "implicit"):
        low, high = compare[f"{library}_precision_ci"]
        assert 0.0 <= low <= compare[f"{library}_precision"] <= high <= 1.0, library
        assert compare[f"{library}_hits"] == round(compare[f"{library}_precision"] * compare["top_k"]
                                                   * compare["warm_test_users"]), library  # fmt: skip
    low, high = compare["precision_difference_ci"]
    assert low <= compare["spark_precision"] - compare["implicit_precision"] <= high
    assert compare["precision_equal"] == (low <= 0.0 <= high)
    assert compare["scores"] == compare["users"] * compare["items"] > 0
    assert compare["matmul_gflops"] > 0 and compare["topk_vs_floor"] > 0 and compare["spark_builtin_topk_seconds"] > 0
    assert scale["pipeline_seconds"] == round(sum(stages[s]["seconds"] for s in ("generate", "dbt_build", "job")), 1)
    for line in ("== scale 0.01", "dbt build", "top-K for all customers", "Spark ALS fit", "implicit ALS fit",
                 "Spark - implicit: 95% CI", "top-K for all users", "numpy float32 matmul floor"):  # fmt: skip
        assert line in run.stdout, line


def test_the_benchmark_measures_the_build_and_the_job_as_two_processes_when_asked(session_dir: Path) -> None:
    """`--separate-processes`: `dbt build`, then the job, each its own process (`make build`, then `make recommend`)."""
    job_config = session_dir / "bench_separate_job.json"
    job_config.write_text(json.dumps({"models": ["global_popularity"], "n_cutoffs": 1, "bootstrap_samples": 20}))
    options = ("--separate-processes", "--stages", "generate,dbt_build,job", "--job-config", str(job_config))
    run, result = _bench(session_dir, "bench_separate", *options)
    [scale] = result["results"]
    stages = scale["stages"]
    assert set(stages) == {"generate", "dbt_build", "job"}
    assert stages["dbt_build"]["process"] == stages["job"]["process"] == "its own process"
    assert stages["dbt_build"]["failed"] == [] and stages["dbt_build"]["tests"] > 100
    # each process's own figures: a JVM each, the job's stages from its own log
    assert all(0 < stages[name]["peak_pss_mib"] <= stages[name]["peak_rss_mib"] for name in ("dbt_build", "job"))
    assert stages["dbt_build"]["peak_rss_mib"] > 150 and stages["job"]["peak_rss_mib"] > 150
    assert set(stages["job"]["stage_seconds"]) == {"read", "evaluate", "train", "recommend", "write"}
    assert stages["job"]["recommendations"] > 0 and stages["job"]["chosen_model"] == "global_popularity"
    assert scale["pipeline_seconds"] == round(sum(stages[s]["seconds"] for s in stages), 1)
    assert "[scale 0.01] dbt_build ..." in run.stdout and "[scale 0.01] job ..." in run.stdout
