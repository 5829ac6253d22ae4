"""Project conventions on dbt's real manifest: the project passes, a deliberately broken model is caught."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from dbt.cli.main import dbtRunner

from project_checks.structure import structure_violations

PROJECT_DIR = Path(__file__).resolve().parents[2]


def _manifest(project: Path, target: Path) -> dict:
    result = dbtRunner().invoke(
        ["parse", "--project-dir", str(project), "--profiles-dir", str(project), "--target-path", str(target),
         "--no-partial-parse"]
    )  # fmt: skip
    assert result.success, result.exception
    return json.loads((target / "manifest.json").read_text())


def test_the_project_follows_its_structure_rules(tmp_path: Path) -> None:
    assert structure_violations(_manifest(PROJECT_DIR, tmp_path / "target")) == []


def test_a_broken_model_fails_the_structure_check(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(PROJECT_DIR / name, copy / name)
    for folder in ("models", "macros", "seeds", "tests", "analyses"):
        shutil.copytree(PROJECT_DIR / folder, copy / folder, ignore=shutil.ignore_patterns("python", "__pycache__"))
    # no docs, no primary-key test, source() in a mart, and a mart that an intermediate model references
    (copy / "models/marts/core/orders_from_raw.sql").write_text(
        "select order_id, order_status from {{ source('olist', 'orders') }}\n"
    )
    (copy / "models/intermediate/sales/int_orders_relabelled.sql").write_text(
        "select order_id from {{ ref('orders_from_raw') }}\n"
    )
    problems = structure_violations(_manifest(copy, tmp_path / "target"))
    assert "orders_from_raw: no description" in problems
    assert any(p.startswith("orders_from_raw: no primary-key test") for p in problems)
    assert any(p.startswith("orders_from_raw: calls source() outside staging") for p in problems)
    assert any(
        "int_orders_relabelled (intermediate) references orders_from_raw of a later layer" in p for p in problems
    )
