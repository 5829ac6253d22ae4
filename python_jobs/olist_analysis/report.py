"""Execute the analysis notebook headlessly against the current warehouse; write the executed notebook, a
self-contained HTML report (figures embedded) and the figures as PNG files.

The notebook (notebooks/olist_recommender.ipynb) reads DBT_SCHEMA and OLIST_REPORT_DIR from the environment and
the warehouse through olist_recommender.spark.spark_session (the embedded catalog, or the shared metastore when
HIVE_METASTORE_URIS is set).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parents[2]
NOTEBOOK = PROJECT_DIR / "notebooks" / "olist_recommender.ipynb"


class ReportError(RuntimeError):
    """The notebook failed; the message names the cell and the error."""


def build_report(out_dir: Path, schema: str, notebook: Path = NOTEBOOK, timeout: int = 1800) -> Path:
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    out_dir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(notebook, as_version=4)
    os.environ["DBT_SCHEMA"] = schema
    os.environ["OLIST_REPORT_DIR"] = str(out_dir)
    started = time.perf_counter()
    # the kernel talks to this process over Unix sockets in the output folder, not loopback TCP
    kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(out_dir / ".kernel"))
    client = NotebookClient(
        nb, km=kernel, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(out_dir)}}
    )
    executed = out_dir / notebook.name
    try:
        client.execute()
    except CellExecutionError as exc:
        nbformat.write(nb, executed)
        raise ReportError(f"{notebook.name} failed (executed copy with the error: {executed}):\n{exc}") from exc
    finally:
        log.info("executed %s in %.1fs", notebook.name, time.perf_counter() - started)
    nbformat.write(nb, executed)
    html, _ = HTMLExporter(exclude_input_prompt=True, exclude_output_prompt=True).from_notebook_node(nb)
    report = out_dir / "olist_recommender.html"
    report.write_text(html)
    log.info("report %s (%s KiB), figures in %s", report, len(html) // 1024, out_dir / "figures")
    return report
