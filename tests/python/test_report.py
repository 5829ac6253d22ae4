"""`make report`: the notebook executes headlessly on a built warehouse (small generated data, the shared catalog the
Thrift tests built) and writes every figure and a self-contained HTML report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

from conftest import PROJECT_DIR, THRIFT_SCHEMA
from olist_analysis.figures import FIGURES


def test_the_notebook_runs_every_cell_and_writes_every_figure(thrift_warehouse, session_dir: Path) -> None:
    out = session_dir / "report"
    env = {**thrift_warehouse["env"], "OLIST_WAREHOUSE_DIR": str(session_dir / "report_client")}
    run = subprocess.run(
        [sys.executable, "-m", "olist_analysis", "--out", str(out), "--schema", THRIFT_SCHEMA],
        env=env, capture_output=True, text=True, cwd=PROJECT_DIR,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]

    executed = nbformat.read(out / "olist_recommender.ipynb", as_version=4)
    code_cells = [c for c in executed.cells if c.cell_type == "code"]
    assert code_cells and all(c.execution_count is not None for c in code_cells), "a cell did not run"
    errors = [o for c in code_cells for o in c.outputs if o.output_type == "error"]
    assert errors == []
    for name in FIGURES:
        png = out / "figures" / f"{name}.png"
        assert png.exists(), name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000, name
    html = (out / "olist_recommender.html").read_text()
    assert html.count("data:image/png;base64") >= len(FIGURES)  # self-contained: figures embedded
    assert "bought once" in html and "the job chose" in html  # the key facts cell rendered its sentences
