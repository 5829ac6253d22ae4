"""The shared warehouse: a real Hive metastore service and Spark Thrift Server, dbt's thrift target, the ALS job on
the same catalog, SQL over Thrift (PyHive), and readers during a republish.

Each process here is what a user runs: `python -m olist_warehouse services`, `dbt build` with DBT_TARGET=thrift,
`python -m olist_recommender` with HIVE_METASTORE_URIS. The suite's own Spark session is not involved.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import (
    PROJECT_DIR,
    THRIFT_K,
    THRIFT_MODELS,
    THRIFT_SCHEMA,
    free_port,
    thrift_job_command,
    thrift_query,
)
from olist_recommender.publish import COLUMNS
from olist_warehouse import services
from olist_warehouse.sql import SqlError, Target, run_sql

SCHEMA, K = THRIFT_SCHEMA, THRIFT_K


def test_servers_listen_on_loopback_only(shared) -> None:
    lines = [line.split() for f in ("/proc/net/tcp", "/proc/net/tcp6") for line in Path(f).read_text().splitlines()[1:]]
    listening = [fields[1] for fields in lines if fields[3] == "0A"]  # local address of sockets in LISTEN state
    loopback = ("0100007F", "0000000000000000FFFF00000100007F")  # 127.0.0.1 as IPv4 and as IPv4-mapped IPv6
    for port in (shared.metastore_port, shared.thrift_port):
        addresses = [a for a in listening if a.endswith(f":{port:04X}")]
        assert addresses, f"nothing listens on {port}"
        assert all(a.split(":")[0] in loopback for a in addresses), f"port {port} bound to {addresses}, not loopback"


def test_a_port_in_use_is_a_clear_error_not_a_hang(shared, session_dir: Path) -> None:
    other = services.ServicesConfig(state_dir=session_dir / "shared_other", metastore_port=shared.thrift_port)
    started = time.monotonic()
    with pytest.raises(services.ServiceError, match=f"port {shared.thrift_port} on 127.0.0.1 is already in use"):
        services.start(other, "metastore")
    assert time.monotonic() - started < 5


def test_dbt_thrift_build_and_the_job_share_one_catalog_readable_over_thrift(shared, thrift_warehouse) -> None:
    assert "PASS=" in thrift_warehouse["build"] and " ERROR=0 " in thrift_warehouse["build"]
    marts = f"{SCHEMA}_marts"
    [(customers,)] = thrift_query(shared, f"select count(*) from {marts}.dim_customers")
    [(rows, per_customer_min, per_customer_max, runs)] = thrift_query(
        shared,
        f"select count(*), min(n), max(n), count(distinct run_id) from (select customer_unique_id, run_id, "
        f"count(*) as n from {marts}.recommendations_by_customer group by customer_unique_id, run_id) as c",
    )
    assert customers > 1000 and (per_customer_min, per_customer_max, runs) == (K, K, 1)
    assert rows == customers  # one list per customer
    evaluation = thrift_query(
        shared,
        f"select model, metric, k, value from {marts}.recommendation_evaluation "
        f"where cutoff = 'mean' and user_group = 'all' and k = {K}",
    )
    assert {m for m, *_ in evaluation} == set(THRIFT_MODELS)
    assert all(0.0 <= value <= 1.0 for *_, value in evaluation)
    columns = thrift_query(shared, f"describe {marts}.recommendations_by_customer")
    assert [c[0] for c in columns][:7] == COLUMNS["recommendations_by_customer"]


def test_readers_during_a_republish_see_the_old_or_the_new_table_never_a_partial_one(
    shared, thrift_warehouse, session_dir: Path
) -> None:
    marts = f"{SCHEMA}_marts"
    [(expected,)] = thrift_query(shared, f"select count(*) from {marts}.recommendations_by_customer")
    [(first_run,)] = thrift_query(shared, f"select distinct run_id from {marts}.recommendations_by_customer")
    seen: list[tuple] = []
    errors: list[str] = []
    done = threading.Event()

    def read_in_a_loop() -> None:
        from pyhive import hive

        with hive.connect(host=shared.host, port=shared.thrift_port) as conn:
            cursor = conn.cursor()
            while not done.is_set():
                try:
                    cursor.execute(
                        f"select count(*), count(distinct run_id), min(run_id) from {marts}.recommendations_by_customer"
                    )
                    seen.append(tuple(cursor.fetchall()[0]))
                except Exception as exc:  # noqa: BLE001 - any failed read is what this test looks for
                    errors.append(f"{exc.__class__.__name__}: {exc}")
                done.wait(0.1)

    reader = threading.Thread(target=read_in_a_loop, daemon=True)
    reader.start()
    # the republish: a quick run (one model) is enough, the publish step is the same
    job = subprocess.run(
        thrift_job_command(session_dir, ["global_popularity"]),
        env=thrift_warehouse["env"], capture_output=True, text=True, cwd=session_dir,
    )  # fmt: skip
    time.sleep(2)
    done.set()
    reader.join(timeout=120)
    assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
    assert errors == []
    assert len(seen) >= 10, f"only {len(seen)} reads during the republish"
    assert all(count == expected and runs == 1 for count, runs, _ in seen), sorted(set(seen))
    run_ids = [run_id for *_, run_id in seen]
    assert run_ids[0] == first_run and run_ids[-1] != first_run, "the reads did not span the swap"


def test_sql_cli_prints_a_table_over_thrift_and_errors_clearly_without_a_server(shared, thrift_warehouse) -> None:
    """`make sql F=analyses/recommendation_evaluation.sql`: one row per model of the latest run, over Thrift."""
    env = {**thrift_warehouse["env"]}
    out = subprocess.run(
        [sys.executable, "-m", "olist_warehouse", "sql", "--file", "analyses/recommendation_evaluation.sql",
         "--var", f"k={K}"],
        env=env, capture_output=True, text=True, cwd=PROJECT_DIR,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Spark Thrift Server" in out.stderr
    header = out.stdout.splitlines()[0].split()
    assert header[:3] == ["model", "metric", "k"] and "is_chosen_model" in header
    [(models,)] = thrift_query(
        shared,
        f"select count(distinct model) from {SCHEMA}_marts.recommendation_evaluation where run_id = "
        f"(select run_id from {SCHEMA}_marts.recommendation_runs order by finished_at desc limit 1)",
    )
    assert models >= 1 and "True" in out.stdout and f"({models} rows)" in out.stdout
    with pytest.raises(SqlError, match="no Spark Thrift Server answers at 127.0.0.1"):
        run_sql("select 1", Target("thrift", "127.0.0.1", free_port()))
