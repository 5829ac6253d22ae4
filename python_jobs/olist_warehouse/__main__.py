"""CLI: python -m olist_warehouse services {start,stop,status,env} | sql [QUERY] [--file F] [--var k=v]."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from olist_warehouse import services
from olist_warehouse import sql as sqlmod


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="olist_warehouse", description="Shared Spark warehouse services and SQL access.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("services", help="start/stop/status the local Hive metastore and Spark Thrift Server")
    s.add_argument("action", choices=["start", "stop", "status", "env"])
    s.add_argument("--only", choices=list(services.SERVICES), help="one service instead of both")
    q = sub.add_parser("sql", help="run a query and print the result as a table")
    q.add_argument("query", nargs="?", help="SQL text (or use --file)")
    q.add_argument("--file", "-f", help="a .sql file, e.g. analyses/recommendations_for_customer.sql")
    q.add_argument("--var", action="append", default=[], help="value for {{ var('name') }} in a file: name=value")
    q.add_argument("--target", choices=["thrift", "session"], help="default: DBT_TARGET, else session")
    q.add_argument("--max-rows", type=int, default=50)
    return p.parse_args(argv)


def _services(args: argparse.Namespace) -> int:
    config = services.ServicesConfig.from_env()
    chosen = [args.only] if args.only else list(services.SERVICES)
    if args.action == "start":
        for name in chosen:
            services.start(config, name)
        print(f"up: metastore {config.metastore_uri}, thrift {config.host}:{config.thrift_port}; logs in "
              f"{config.state_dir / 'logs'}")  # fmt: skip
    elif args.action == "stop":
        for name in reversed(chosen):
            print(f"{name}: {'stopped' if services.stop(config, name) else 'was not running'}")
    elif args.action == "status":
        for name, text in services.status(config).items():
            print(f"{name:10} {text}")
    else:
        for key, value in config.client_env().items():
            print(f"export {key}={value}")
    return 0


def _sql(args: argparse.Namespace) -> int:
    target = sqlmod.Target.from_env(args.target)
    if args.file:
        path = Path(args.file)
        if not path.exists():
            raise sqlmod.SqlError(f"no such file: {path}")
        variables = dict(v.split("=", 1) for v in args.var)
        schema = os.environ.get("DBT_SCHEMA", "olist")
        manifest = sqlmod.parse_project(sqlmod.PROJECT_DIR / "target" / "sql")
        text = sqlmod.render(path.read_text(), sqlmod.relations_from_manifest(manifest), variables, schema)
    elif args.query:
        text = args.query
    else:
        raise sqlmod.SqlError('give a query (make sql Q="select ...") or a file (make sql F=analyses/x.sql)')
    print(f"-- {target.describe()}", file=sys.stderr)
    print(sqlmod.format_table(sqlmod.run_sql(text, target), args.max_rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pyhive").setLevel(logging.WARNING)
    logging.getLogger("py4j").setLevel(logging.WARNING)
    logging.getLogger("thrift").setLevel(logging.CRITICAL)  # a refused connection is reported once, below
    try:
        return _services(args) if args.command == "services" else _sql(args)
    except (services.ServiceError, sqlmod.SqlError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
