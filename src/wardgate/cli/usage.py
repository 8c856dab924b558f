"""``wardgate usage``: spend and tokens from the ledger, grouped and filtered; top spenders."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys

from wardgate.errors import ConfigError, WardgateError
from wardgate.settings import load_settings
from wardgate.store.db import Database
from wardgate.store.usage import GROUPS, UsageRepo

__all__ = ["add_parser", "run", "parse_day"]

COLUMNS = ["requests", "input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens", "cost_usd"]


def parse_day(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        d = dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return d.timestamp()


def _groups(value: str) -> list[str]:
    out = [g.strip() for g in value.split(",") if g.strip()]
    bad = [g for g in out if g not in GROUPS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown grouping {bad[0]!r} (known: {', '.join(GROUPS)})")
    return out


def add_parser(sub, config_default: str | None) -> None:
    p = sub.add_parser("usage", help="spend and tokens by key, user, workspace, model, day")
    p.add_argument("--config", "-c", default=config_default, help="YAML config file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--by", type=_groups, default=["workspace", "user"],
                   help=f"comma-separated groupings: {', '.join(GROUPS)} (default workspace,user)")
    p.add_argument("--since", type=parse_day, help="from this UTC day (YYYY-MM-DD; default: 30 days ago)")
    p.add_argument("--until", type=parse_day, help="up to (not including) this UTC day")
    p.add_argument("--workspace")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--top", type=int, help="only the N largest spenders")


def run(args) -> int:
    settings = load_settings(args.config)
    since = args.since if args.since is not None else dt.datetime.now(dt.timezone.utc).timestamp() - 30 * 86400
    try:
        rows = asyncio.run(_report(Database(settings.database_url), args, since))
    except ConfigError:
        raise
    except WardgateError as exc:
        print(f"wardgate: {exc.message}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"since": since, "until": args.until, "by": args.by, "data": rows}))
        return 0
    cols = args.by + COLUMNS
    table = [[str(r.get(c) if r.get(c) is not None else "-") for c in cols] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in table]) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for row in table:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    total = sum(r["cost_nano"] for r in rows) / 1e9
    print(f"total ${total:,.4f} over {sum(r['requests'] for r in rows)} requests", file=sys.stderr)
    return 0


async def _report(db: Database, args, since: float) -> list[dict]:
    try:
        await db.check_schema()
        return await UsageRepo(db).report(args.by, since=since, until=args.until, workspace=args.workspace,
                                          key=args.key, user=args.user, top=args.top)
    finally:
        await db.close()
