"""``wardgate db|workspaces|users|keys``: work directly on the configured database (bootstrap).

Every change is recorded as an admin event with the actor ``cli:<login>``. ``keys create``
and ``keys rotate`` print the plaintext key once (``--json``: in a ``key`` field).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from typing import Any

from wardgate.errors import ConfigError, InvalidField, WardgateError
from wardgate.identity.service import pepper_from_env
from wardgate.settings import load_settings
from wardgate.store.db import Database
from wardgate.store.repo import IdentityRepo, key_view, user_view, workspace_view

__all__ = ["add_parsers", "run"]


def add_parsers(sub, config_default: str | None) -> None:
    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", "-c", default=config_default, help="YAML config file")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    db = sub.add_parser("db", help="database schema")
    dsub = db.add_subparsers(dest="db_command", metavar="SUBCOMMAND")
    with_config(dsub.add_parser("upgrade", help="apply migrations up to this version's schema"))

    ws = sub.add_parser("workspaces", help="workspaces")
    wsub = ws.add_subparsers(dest="ws_command", metavar="SUBCOMMAND")
    p = with_config(wsub.add_parser("create", help="create a workspace"))
    p.add_argument("id")
    p.add_argument("--name")
    with_config(wsub.add_parser("list", help="list workspaces"))

    us = sub.add_parser("users", help="users and service accounts")
    usub = us.add_subparsers(dest="users_command", metavar="SUBCOMMAND")
    p = with_config(usub.add_parser("create", help="create a user or service account"))
    p.add_argument("--workspace", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--role", required=True)
    p.add_argument("--kind", choices=["user", "service"], default="user")
    p.add_argument("--email")
    p = with_config(usub.add_parser("list", help="list users"))
    p.add_argument("--workspace")
    for verb, what in (("disable", "disable a user: every key they own is refused"),
                       ("enable", "enable a disabled user again")):
        p = with_config(usub.add_parser(verb, help=what))
        p.add_argument("id")
    p = with_config(usub.add_parser("set-role", help="assign a role"))
    p.add_argument("id")
    p.add_argument("role")

    ks = sub.add_parser("keys", help="virtual keys")
    ksub = ks.add_subparsers(dest="keys_command", metavar="SUBCOMMAND")
    p = with_config(ksub.add_parser("create", help="create a key (printed once)"))
    p.add_argument("--workspace", required=True)
    p.add_argument("--role", required=True)
    p.add_argument("--owner", help="user or service account id")
    p.add_argument("--description", default="")
    p.add_argument("--env", choices=["dev", "staging", "prod"], default="prod")
    p.add_argument("--models", help="comma-separated allowed models (patterns like claude-haiku-*)")
    p.add_argument("--scopes", help="comma-separated scopes")
    p.add_argument("--expires-in-days", type=float)
    _limit_args(p)
    p = with_config(ksub.add_parser("set-limits", help="replace a key's own limits (none given: no limits)"))
    p.add_argument("id")
    _limit_args(p)
    p = with_config(ksub.add_parser("list", help="list keys"))
    p.add_argument("--workspace")
    p.add_argument("--state", choices=["active", "rotating", "revoked", "expired"])
    p = with_config(ksub.add_parser("show", help="show one key"))
    p.add_argument("id")
    p = with_config(ksub.add_parser("rotate", help="issue a new key; the old one works for a grace period"))
    p.add_argument("id")
    p.add_argument("--grace-hours", type=float, help="default: identity.default_grace_hours (24)")
    p = with_config(ksub.add_parser("revoke", help="revoke a key now"))
    p.add_argument("id")


def _limit_args(p) -> None:
    p.add_argument("--rpm", type=int, help="requests per minute")
    p.add_argument("--tpm", type=int, help="input + output tokens per minute")
    p.add_argument("--tpd", type=int, help="tokens per UTC day")
    p.add_argument("--concurrent", type=int, help="requests in flight at once")
    p.add_argument("--budget-usd", type=float, help="dollar budget per period")
    p.add_argument("--budget-period", choices=["day", "week", "month"], help="budget reset period (month)")
    p.add_argument("--alert-at", help="comma-separated budget fractions that raise an alert (0.8)")


def _limits_from(args) -> dict[str, Any]:
    from pydantic import ValidationError

    from wardgate.settings import LimitValues
    raw: dict[str, Any] = {k: getattr(args, k) for k in ("rpm", "tpm", "tpd", "concurrent", "budget_usd",
                                                          "budget_period") if getattr(args, k) is not None}
    if args.alert_at:
        raw["alert_at"] = [float(x) for x in args.alert_at.split(",") if x.strip()]
    try:
        return LimitValues.model_validate(raw).model_dump(exclude_defaults=True)
    except ValidationError as exc:
        err = exc.errors(include_input=False)[0]
        raise InvalidField(f"--{str(err['loc'][0]).replace('_', '-')}: {err['msg']}") from None


def _table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    if not rows:
        return "(none)"
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _print(args, data: Any, cols: list[str]) -> None:
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    elif isinstance(data, list):
        print(_table(data, cols))
    else:
        for k, v in data.items():
            print(f"{k:16} {'' if v is None else v}")


def run(args) -> int | None:
    """Run an identity command; None if ``args`` is not one."""
    command = args.command
    if command not in ("db", "workspaces", "users", "keys"):
        return None
    sub = getattr(args, {"db": "db_command", "workspaces": "ws_command", "users": "users_command",
                         "keys": "keys_command"}[command])
    if sub is None:
        print(f"usage: wardgate {command} SUBCOMMAND (see --help)", file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    db = Database(settings.database_url)
    if command == "db":
        db.upgrade()
        revision = asyncio.run(_revision(db))
        print(json.dumps({"revision": revision}) if args.json else f"database at revision {revision}")
        return 0
    needs_pepper = command == "keys" and sub in ("create", "rotate")
    pepper = pepper_from_env(settings, required=needs_pepper) or b""
    try:
        return asyncio.run(_run(args, command, sub, settings, db, pepper))
    except ConfigError:
        raise  # exit 2: configuration or deployment (e.g. an unmigrated schema)
    except WardgateError as exc:
        print(f"wardgate: {exc.message}", file=sys.stderr)
        return 1


async def _revision(db: Database) -> str | None:
    try:
        return await db.current_revision()
    finally:
        await db.close()


async def _run(args, command: str, sub: str, settings, db: Database, pepper: bytes) -> int:
    await db.check_schema()
    actor = f"cli:{_login()}"
    age = settings.identity.rotation_age_days
    try:
        async with db.sessions() as s:
            repo = IdentityRepo(s, pepper, actor, rotation_age_days=age)
            if command == "workspaces" and sub == "create":
                _print(args, workspace_view(await repo.create_workspace(args.id, args.name)), [])
            elif command == "workspaces":
                _print(args, [workspace_view(w) for w in await repo.list_workspaces()], ["id", "name"])
            elif command == "users" and sub == "create":
                _check_role(settings, args.role)
                user = await repo.create_user(args.workspace, args.name, args.role, args.kind, args.email)
                _print(args, user_view(user), [])
            elif command == "users" and sub in ("disable", "enable"):
                _print(args, user_view(await repo.set_disabled(args.id, sub == "disable")), [])
            elif command == "users" and sub == "set-role":
                _check_role(settings, args.role)
                _print(args, user_view(await repo.set_role(args.id, args.role)), [])
            elif command == "users":
                _print(args, [user_view(u) for u in await repo.list_users(args.workspace)],
                       ["id", "workspace", "kind", "name", "role", "email"])
            elif sub == "create":
                _check_role(settings, args.role)
                plaintext, key = await repo.create_key(
                    args.workspace, args.role, owner=args.owner, environment=args.env, description=args.description,
                    scopes=_split(args.scopes) or [], allowed_models=_split(args.models),
                    expires_in=args.expires_in_days * 86400 if args.expires_in_days else None,
                    limits=_limits_from(args))
                _show_new(args, plaintext, key_view(key, rotation_age_days=age))
            elif sub == "set-limits":
                _print(args, key_view(await repo.set_key_limits(args.id, _limits_from(args)), rotation_age_days=age),
                       [])
            elif sub == "list":
                rows = [key_view(k, rotation_age_days=age) for k in await repo.list_keys(args.workspace, args.state)]
                _print(args, rows, ["id", "workspace", "hint", "role", "environment", "state", "stale", "owner",
                                    "description"])
            elif sub == "show":
                _print(args, key_view(await repo.key(args.id), rotation_age_days=age), [])
            elif sub == "rotate":
                hours = settings.identity.default_grace_hours if args.grace_hours is None else args.grace_hours
                plaintext, key = await repo.rotate_key(args.id, hours * 3600)
                _show_new(args, plaintext, key_view(key, rotation_age_days=age))
                if not args.json:
                    print(f"the old key {args.id} keeps working for {hours:g} h")
            elif sub == "revoke":
                _print(args, key_view(await repo.revoke_key(args.id), rotation_age_days=age), [])
    finally:
        await db.close()
    return 0


def _show_new(args, plaintext: str, view: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(view | {"key": plaintext}, indent=2))
        return
    print(f"key (shown once, give it to its owner): {plaintext}")
    _print(args, view, [])


def _check_role(settings, role: str) -> None:
    problem = settings.unknown_role(role)
    if problem is not None:
        raise WardgateError(problem)


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
