"""CLI: python -m olist_analysis [--out DIR] [--schema S]  (make report)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from olist_analysis.report import ReportError, build_report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="olist_analysis", description="Execute the analysis notebook; write the report.")
    default_out = Path(os.environ.get("OLIST_WAREHOUSE_DIR", "warehouse")) / "report"
    p.add_argument("--out", default=str(default_out), help=f"output folder (default {default_out})")
    p.add_argument("--schema", default=os.environ.get("DBT_SCHEMA", "olist"))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        report = build_report(Path(args.out).resolve(), args.schema)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"report: {report}\nfigures: {report.parent / 'figures'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
