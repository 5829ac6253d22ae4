"""CLI: python -m olist_synth --out DIR [--scale 1.0] [--seed 42]."""

from __future__ import annotations

import argparse
import logging
import sys

from olist_synth.generate import GeneratorConfig, generate_olist


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="olist_synth", description="Write Olist-shaped CSV files (deterministic).")
    parser.add_argument("--out", required=True, help="folder to write the CSV files into")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = real Olist table sizes (default 1.0)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = GeneratorConfig(scale=args.scale, seed=args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    generate_olist(args.out, config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
