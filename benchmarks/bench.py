"""Benchmark of the whole pipeline at several Olist scales (`make bench`, BENCH_SCALES="0.1 1 10").

Per scale, in a fresh warehouse of its own (<OLIST_WAREHOUSE_DIR>/bench/scale_<s>/), each stage runs as the process a
user runs and is measured from outside: wall seconds, peak RSS of the process tree (the Python driver + its JVM
+ Python workers, sampled from /proc every 0.2 s; also the peak PSS, which splits the pages forked workers share,
sampled every 2 s), rows processed.

  generate   python -m olist_synth                      rows: all rows written
  dbt_build  dbt build (session target)                 rows: raw rows read; also the summed node seconds of
                                                        models/seeds and of tests (run_results.json)
  job        python -m olist_recommender (default       its own stage seconds: read, evaluate (tuning + rolling
             configuration unless --job-config)         cut-offs), train, recommend (top-K for all), write (publish)
             By default dbt_build and job are one process, as `make run` runs them (`python -m olist_recommender
             --dbt-build`: dbt builds on the job's Spark session), split where the job logs the end of the build;
             --separate-processes runs `dbt build`, then the job (`make build`, then `make recommend`).
  compare    Spark ALS vs the `implicit` library on the same interaction matrix and split (the job's last cut-off),
             same rank / regularization / alpha / iterations: fit seconds and P@10 on the warm test users; Spark's
             the job's top-K scoring (scores/s) and Spark's recommendForUserSubset vs this machine's numpy float32
             matrix-multiply rate.

Prints a table per scale, the 1x -> 10x growth ratios when both ran, and writes everything as JSON
(benchmarks/results/latest.json unless --out). Figures, not assertions: the targets are checked in RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STAGES = ("generate", "dbt_build", "job", "compare")
# how dbt_build and job ran ("process" in their figures)
ONE_PROCESS, SEPARATE_PROCESS = "one process with the job", "its own process"


# ------------------------------------------------------------------------------------------ measuring a process


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


# a sample every SAMPLE_SECONDS reads each process's RSS from /proc/<pid>/status (the kernel's counters); every
# PSS_EVERY-th sample also reads smaps_rollup for the PSS. That read walks the process's page tables holding its
# memory-map lock: 15 ms of CPU for a 2 GiB JVM (36 ms wall, while the JVM's page faults wait), so reading it 5 times
# a second took 7% of a core from the 2 the pipeline runs on (benchmarks/RESULTS.md)
SAMPLE_SECONDS, PSS_EVERY = 0.2, 10


def _memory(pid: int, with_pss: bool) -> tuple[int, int, int]:
    """(VmSize, RSS, PSS) in bytes; zeros once the process is gone. VmSize and VmRSS come from /proc/<pid>/status; with
    `with_pss`, RSS and PSS come from one read of smaps_rollup instead, one walk of the pages (read apart, a growing
    JVM could show a PSS above its RSS); without it, PSS is 0."""
    size = rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                size = int(line.split()[1]) * 1024
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
        if with_pss:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return size, rss, pss


def _tree_memory_bytes(root: int, with_pss: bool) -> tuple[int, int]:
    """RSS and PSS (0 without `with_pss`) summed over a process tree. A child that shares its parent's memory (the
    JVM starts commands through vfork + jspawnhelper: until the exec, the child reports the parent's whole RSS) is
    not counted twice. RSS counts pages that forked Python workers share with their daemon in each of them; PSS
    splits them."""
    tree, rss_total, pss_total = _children(), 0, 0
    stack: list[tuple[int, tuple[int, int, int] | None]] = [(root, None)]
    while stack:
        pid, parent = stack.pop()
        memory = _memory(pid, with_pss)
        shares_parent = parent is not None and memory[:2] == parent[:2] and memory[1] > 0
        if not shares_parent:
            rss_total += memory[1]
            pss_total += memory[2]
        stack.extend((child, memory) for child in tree.get(pid, []))
    return rss_total, pss_total


def measured(command: list[str], env: dict[str, str], log_path: Path, keep_samples: bool = False) -> dict:
    """Run a command to completion; wall seconds, peak RSS and PSS of its process tree, exit code, output.
    keep_samples: also every sample as (seconds since the start, RSS, PSS) and the start as a Unix time."""
    peak = peak_pss = 0
    samples: list[tuple[float, int, int]] = []
    started_at = time.time()
    started = time.perf_counter()
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_DIR)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, peak_pss
            for count in itertools.count():
                if done.is_set():
                    break
                rss, pss = _tree_memory_bytes(process.pid, with_pss=count % PSS_EVERY == 0)
                peak, peak_pss = max(peak, rss), max(peak_pss, pss)
                if keep_samples:
                    samples.append((time.perf_counter() - started, rss, pss))
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        done.set()
        sampler.join()
    wall = time.perf_counter() - started
    output = log_path.read_text(errors="replace")
    if code != 0:
        raise RuntimeError(
            f"{' '.join(command[:4])} ... failed with exit code {code}; log {log_path}:\n{output[-3000:]}"
        )
    result = {
        "seconds": round(wall, 1),
        "peak_rss_mib": round(peak / 2**20),
        "peak_pss_mib": round(peak_pss / 2**20),
        "output": output,
    }
    return {**result, "samples": samples, "started_at": started_at} if keep_samples else result


# ------------------------------------------------------------------------------------------ the stages


def stage_generate(scale: float, seed: int, data_dir: Path, env: dict, logs: Path) -> dict:
    command = [sys.executable, "-m", "olist_synth", "--out", str(data_dir), "--scale", str(scale), "--seed", str(seed)]
    result = measured(command, env, logs / "generate.log")
    counts = {name: int(n.replace(",", "")) for name, n in re.findall(r"(\w+)\.csv=([\d,]+)", result.pop("output"))}
    return {**result, "rows": sum(counts.values()), "files": counts}


def stage_dbt_build(env: dict, work: Path, logs: Path) -> dict:
    target = work / "target"
    command = [str(BIN / "dbt"), "build", "--project-dir", str(PROJECT_DIR), "--target-path", str(target),
               "--log-path", str(work / "logs"), "--no-use-colors"]  # fmt: skip
    result = measured(command, env, logs / "dbt_build.log")
    result.pop("output")
    return {**result, "process": SEPARATE_PROCESS, **_dbt_figures(target)}


def _dbt_figures(target: Path) -> dict:
    """Node counts, summed node seconds of models/seeds and of tests, and failed nodes, from run_results.json."""
    run_results = json.loads((target / "run_results.json").read_text())["results"]
    node_seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    for r in run_results:
        kind = r["unique_id"].split(".")[0]
        kind = "tests" if kind in ("test", "unit_test") else "models"
        node_seconds[kind] = node_seconds.get(kind, 0.0) + float(r["execution_time"])
        counts[kind] = counts.get(kind, 0) + 1
    failed = [r["unique_id"] for r in run_results if r["status"] in ("error", "fail")]
    return {
        "model_node_seconds": round(node_seconds.get("models", 0.0), 1),
        "test_node_seconds": round(node_seconds.get("tests", 0.0), 1),
        "models": counts.get("models", 0),
        "tests": counts.get("tests", 0),
        "failed": failed,
    }


def _job_command(schema: str, job_config: str | None) -> list[str]:
    command = [sys.executable, "-m", "olist_recommender", "--schema", schema]
    return command + (["--config", job_config] if job_config else [])


def stage_job(env: dict, schema: str, job_config: str | None, logs: Path) -> dict:
    result = measured(_job_command(schema, job_config), env, logs / "job.log")
    return {**result, "process": SEPARATE_PROCESS, **_job_figures(result.pop("output"))}


def _job_figures(output: str) -> dict:
    """The job's stage seconds, interactions read, recommendations published and chosen model, from its log."""
    stages = dict(re.findall(r"(\w+)=([\d.]+)", re.search(r"Stage seconds: (.*)", output).group(1)))
    interactions = int(re.search(r"read ([\d,]+) interactions", output).group(1).replace(",", ""))
    recommendations = int(
        re.search(r"published run \S+: ([\d,]+) customer recommendations", output).group(1).replace(",", "")
    )
    chosen = re.search(r"Chosen model: (\S+)", output).group(1)
    return {
        "stage_seconds": {k: float(v) for k, v in stages.items()},
        "rows": interactions,
        "recommendations": recommendations,
        "chosen_model": chosen,
    }


def stage_dbt_build_and_job(
    env: dict, work: Path, schema: str, job_config: str | None, logs: Path
) -> tuple[dict, dict]:
    """dbt build and the job in one process, as `make run` runs them (`python -m olist_recommender --dbt-build`).
    The two are split where the job logs the end of the build: seconds before and after it, and the peak memory of
    the samples before and after it. The build's seconds include the process and Spark session start, as a separate
    `dbt build` process's do."""
    target = work / "target"
    env = {**env, "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(work / "logs"), "DBT_USE_COLORS": "false"}
    command = [*_job_command(schema, job_config), "--dbt-build"]
    result = measured(command, env, logs / "dbt_build_and_job.log", keep_samples=True)
    output, samples = result.pop("output"), result.pop("samples")
    logged = re.search(r"^(\S+ \S+) INFO olist_recommender\.build: dbt build done in", output, re.MULTILINE)
    if logged is None:
        raise RuntimeError(f"no end of the dbt build in {logs / 'dbt_build_and_job.log'}")
    ended = dt.datetime.strptime(logged.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp() - result.pop("started_at")

    def part(chosen: list[tuple[float, int, int]], seconds: float) -> dict:
        return {
            "seconds": round(seconds, 1),
            "peak_rss_mib": round(max((rss for _, rss, _ in chosen), default=0) / 2**20),
            "peak_pss_mib": round(max((pss for _, _, pss in chosen), default=0) / 2**20),
            "process": ONE_PROCESS,
        }

    dbt = part([x for x in samples if x[0] <= ended], ended)
    job = part([x for x in samples if x[0] > ended], result["seconds"] - ended)
    return {**dbt, **_dbt_figures(target)}, {**job, **_job_figures(output)}


def stage_compare(env: dict, schema: str, work: Path, logs: Path, args: argparse.Namespace) -> dict:
    out = work / "compare.json"
    command = [sys.executable, str(PROJECT_DIR / "benchmarks" / "compare.py"), "--schema", schema, "--out", str(out),
               "--rank", str(args.rank), "--reg-param", str(args.reg_param), "--alpha", str(args.alpha),
               "--iterations", str(args.iterations), "--top-k", str(args.top_k),
               "--topk-users", str(args.topk_users)]  # fmt: skip
    result = measured(command, env, logs / "compare.log")
    result.pop("output")
    return {**result, **json.loads(out.read_text())}


# ------------------------------------------------------------------------------------------ one scale, reporting


def run_scale(scale: float, args: argparse.Namespace, root: Path, save: Callable[[dict], None]) -> dict:
    work = root / f"scale_{scale:g}"
    shutil.rmtree(work, ignore_errors=True)
    logs = work / "bench_logs"
    logs.mkdir(parents=True)
    data_dir = work / "data"
    schema = "bench"
    env = {
        **os.environ,
        "OLIST_HOME": str(PROJECT_DIR),
        "OLIST_WAREHOUSE_DIR": str(work),
        "OLIST_DATA_DIR": str(data_dir),
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "DBT_TARGET": "session",
        "DBT_SCHEMA": schema,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1",
    }
    for key in ("HIVE_METASTORE_URIS", "SPARK_WAREHOUSE_DIR"):
        env.pop(key, None)
    result: dict = {"scale": scale, "stages": {}}
    started = time.perf_counter()
    one_process = not args.separate_processes and {"dbt_build", "job"} <= set(args.stages)
    for stage in args.stages:
        if stage == "job" and one_process:
            continue  # measured with the build
        label = "dbt_build + job" if stage == "dbt_build" and one_process else stage
        print(f"[scale {scale:g}] {label} ...", flush=True)
        if stage == "generate":
            measured_stages = {stage: stage_generate(scale, args.seed, data_dir, env, logs)}
        elif stage == "dbt_build" and one_process:
            dbt, job = stage_dbt_build_and_job(env, work, schema, args.job_config, logs)
            measured_stages = {"dbt_build": dbt, "job": job}
        elif stage == "dbt_build":
            measured_stages = {stage: stage_dbt_build(env, work, logs)}
        elif stage == "job":
            measured_stages = {stage: stage_job(env, schema, args.job_config, logs)}
        else:
            measured_stages = {stage: stage_compare(env, schema, work, logs, args)}
        result["stages"].update(measured_stages)
        save(result)  # after every stage: an interrupted run keeps what it measured
        for name, measured_stage in measured_stages.items():
            seconds, rss, pss = (measured_stage[key] for key in ("seconds", "peak_rss_mib", "peak_pss_mib"))
            print(f"[scale {scale:g}] {name}: {seconds} s, peak RSS {rss} MiB (PSS {pss} MiB)", flush=True)
    result["pipeline_seconds"] = round(
        sum(result["stages"][s]["seconds"] for s in ("generate", "dbt_build", "job") if s in result["stages"]), 1
    )
    result["bench_seconds"] = round(time.perf_counter() - started, 1)
    if not args.keep:
        for sub in ("spark-warehouse", "metastore_db", "data", "checkpoints"):
            shutil.rmtree(work / sub, ignore_errors=True)
    return result


def _row(name: str, seconds: float | None, rss: int | None, rows: int | None, note: str = "") -> str:
    s = f"{seconds:10.1f}" if seconds is not None else f"{'':>10}"
    r = f"{rss:10,}" if rss is not None else f"{'':>10}"
    n = f"{rows:12,}" if rows is not None else f"{'':>12}"
    return f"  {name:34} {s} {r} {n}  {note}"


def report(result: dict) -> str:
    st = result["stages"]
    lines = [f"== scale {result['scale']:g}", f"  {'stage':34} {'seconds':>10} {'peak MiB':>10} {'rows':>12}"]
    if "generate" in st:
        g = st["generate"]
        lines.append(_row("data generation", g["seconds"], g["peak_rss_mib"], g["rows"]))
    if "dbt_build" in st:
        d = st["dbt_build"]
        lines.append(_row("dbt build", d["seconds"], d["peak_rss_mib"], st.get("generate", {}).get("rows"),
                          f"{d['models']} models/seeds, {d['tests']} tests, {len(d['failed'])} failed"
                          + f"; {d['process']}"))  # fmt: skip
        lines.append(_row("  models + seeds (summed node time)", d["model_node_seconds"], None, None))
        lines.append(_row("  tests (summed node time)", d["test_node_seconds"], None, None))
    if "job" in st:
        j = st["job"]
        lines.append(_row("ALS job", j["seconds"], j["peak_rss_mib"], j["rows"], f"chose {j['chosen_model']}"))
        names = {"read": "read marts", "evaluate": "tune + evaluate (cut-offs)", "train": "fit chosen model",
                 "recommend": "top-K for all customers", "write": "publish"}  # fmt: skip
        for key, label in names.items():
            rows = j["recommendations"] if key in ("recommend", "write") else None
            lines.append(_row(f"  {label}", j["stage_seconds"].get(key), None, rows))
    if "compare" in st:
        c = st["compare"]
        lines.append(_row("Spark ALS fit", c["spark_fit_seconds"], c["peak_rss_mib"], c["train_interactions"],
                          f"P@{c['top_k']} {c['spark_precision']:.4f}; "
                          f"fastest of {len(c['spark_fit_seconds_each'])}"))  # fmt: skip
        fits = len(c["implicit_fit_seconds_each"])
        note = f"P@{c['top_k']} {c['implicit_precision']:.4f}; Spark/implicit {c['fit_ratio']:.1f}x; fastest of {fits}"
        lines.append(_row("implicit ALS fit", c["implicit_fit_seconds"], None, c["train_interactions"], note))
        low, high = c["precision_difference_ci"]
        lines.append(f"  {'':34} P@{c['top_k']} Spark - implicit: 95% CI [{low:+.4f}, {high:+.4f}] over "
                     f"{c['warm_test_users']:,} warm test users ({c['spark_hits']} vs {c['implicit_hits']} hits): "
                     + ("equal" if c["precision_equal"] else "not equal"))  # fmt: skip
        lines.append(_row("top-K for all users (job's scoring)", c["topk_seconds"], None, c["scores"],
                          f"{c['scores_per_second']:.3g} scores/s, {c['topk_users']:,} users"))  # fmt: skip
        lines.append(_row("  Spark's recommendForUserSubset", c["spark_builtin_topk_seconds"], None, c["scores"],
                          f"{c['spark_builtin_topk_vs_floor']:.1f}x floor"))  # fmt: skip
        lines.append(_row("numpy float32 matmul floor", c["floor_seconds"], None, c["scores"],
                          f"{c['matmul_gflops']:.1f} GFLOP/s; job {c['topk_vs_floor']:.1f}x floor"))  # fmt: skip
    if "pipeline_seconds" in result:
        lines.append(_row("pipeline (generate + dbt + job)", result["pipeline_seconds"], None, None))
    return "\n".join(lines)


def growth(results: list[dict]) -> str:
    by_scale = {r["scale"]: r for r in results}
    if 1.0 not in by_scale or 10.0 not in by_scale:
        return ""
    one, ten = by_scale[1.0], by_scale[10.0]
    lines = ["== growth 1x -> 10x (seconds ratio; 10 = linear)"]
    for stage in ("generate", "dbt_build", "job", "compare"):
        if stage in one["stages"] and stage in ten["stages"]:
            ratio = ten["stages"][stage]["seconds"] / max(one["stages"][stage]["seconds"], 1e-9)
            lines.append(f"  {stage:12} {ratio:6.2f}")
    lines.append(f"  {'pipeline':12} {ten['pipeline_seconds'] / max(one['pipeline_seconds'], 1e-9):6.2f}")
    return "\n".join(lines)


def machine() -> dict:
    mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    # the JDK pyspark starts Spark on: JAVA_HOME's when set (the Makefile picks one), else the one on PATH
    java_home = os.environ.get("JAVA_HOME")
    java_bin = str(Path(java_home) / "bin" / "java") if java_home else "java"
    java = subprocess.run([java_bin, "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    import pyspark

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem.split()[1]) / 2**20, 1),
        "python": platform.python_version(),
        "java": java,
        "pyspark": pyspark.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scales", default="0.1,1,10", help="comma-separated Olist scales (default 0.1,1,10)")
    p.add_argument("--stages", default=",".join(STAGES), help=f"subset of {','.join(STAGES)}")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--job-config", help="JSON options for the ALS job (default: its defaults, as `make run`)")
    p.add_argument("--rank", type=int, default=32)
    p.add_argument("--reg-param", type=float, default=0.1)
    p.add_argument("--alpha", type=float, default=10.0)
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--topk-users", type=int, default=100_000, help="cap on users in the top-K throughput run")
    p.add_argument("--out", default=str(PROJECT_DIR / "benchmarks" / "results" / "latest.json"))
    p.add_argument("--keep", action="store_true", help="keep each scale's warehouse and data")
    p.add_argument("--separate-processes", action="store_true",
                   help="dbt build and the job as two processes (`make build`, then `make recommend`), not one "
                   "process as `make run`")  # fmt: skip
    args = p.parse_args(argv)
    args.stages = [s for s in args.stages.split(",") if s]
    unknown = set(args.stages) - set(STAGES)
    if unknown:
        p.error(f"unknown stage(s): {', '.join(sorted(unknown))}")
    root = Path(os.environ.get("OLIST_WAREHOUSE_DIR", PROJECT_DIR / "warehouse")).resolve() / "bench"
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB; {info['java']}; "
          f"pyspark {info['pyspark']}", flush=True)  # fmt: skip
    results: list[dict] = []
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save(current: dict | None = None) -> None:
        done = results + ([current] if current is not None else [])
        out.write_text(json.dumps({"machine": info, "results": done}, indent=2) + "\n")

    for scale in (float(s) for s in args.scales.split(",") if s):
        result = run_scale(scale, args, root, save)
        results.append(result)
        save()
        print(report(result), flush=True)
    text = growth(results)
    if text:
        print(text)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
