"""``wardgate``: serve, demo, sim, config check, static-key.

Exit codes: 0 success, 1 runtime failure, 2 bad usage or invalid configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import sys
from pathlib import Path

from wardgate import __version__
from wardgate.errors import ConfigError

__all__ = ["main"]

DEMO_BANNER = """\
Wardgate {version} demo: SIMULATED UPSTREAM (no real model is called, no API key needed)

  Gateway     {gateway}
  Upstream    {upstream}  (built-in simulator; every answer says it is simulated)
  Demo key    {key}   (workspace "demo", role developer)

Try it with the official SDK (pip install anthropic):

    import anthropic
    client = anthropic.Anthropic(base_url="{gateway}", api_key="{key}")
    msg = client.messages.create(model="claude-sonnet-5-5", max_tokens=256,
                                 messages=[{{"role": "user", "content": "Hello, Wardgate"}}])
    print(msg.content[0].text)

or curl:

    curl {gateway}/v1/messages -H 'x-api-key: {key}' -H 'anthropic-version: 2023-06-01' \\
      -H 'content-type: application/json' \\
      -d '{{"model":"claude-sonnet-5-5","max_tokens":64,"messages":[{{"role":"user","content":"hi"}}]}}'

Metrics: {gateway}/metrics   Health: {gateway}/readyz   Stop: Ctrl-C
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wardgate", description="Zero-trust gateway for the Anthropic API.")
    p.add_argument("--version", action="version", version=f"wardgate {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("serve", help="run the gateway")
    s.add_argument("--config", "-c", default=os.environ.get("WARDGATE_CONFIG"),
                   help="YAML config file (default: $WARDGATE_CONFIG, else built-in defaults)")
    s.add_argument("--host", help="override server.host")
    s.add_argument("--port", type=int, help="override server.port")

    d = sub.add_parser("demo", help="run the gateway on the built-in simulated upstream (no API key)")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8088)

    m = sub.add_parser("sim", help="run the built-in simulated upstream on its own")
    m.add_argument("--host", default="127.0.0.1")
    m.add_argument("--port", type=int, default=8089)
    m.add_argument("--api-key-env", help="require x-api-key equal to this environment variable")
    m.add_argument("--latency-ms", type=float, default=0.0, help="delay before each answer")
    m.add_argument("--chunk-delay-ms", type=float, default=0.0, help="delay between stream events")

    c = sub.add_parser("config", help="configuration tools")
    csub = c.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    cc = csub.add_parser("check", help="validate a config file")
    cc.add_argument("file")

    k = sub.add_parser("static-key", help="make a static gateway key and its config entry")
    k.add_argument("--id", default="default", help="the key's id (shown in logs and metrics)")

    from wardgate.cli.identity import add_parsers

    add_parsers(sub, os.environ.get("WARDGATE_CONFIG"))
    from wardgate.cli import usage

    usage.add_parser(sub, os.environ.get("WARDGATE_CONFIG"))
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "demo":
            return _demo(args)
        if args.command == "sim":
            return _sim(args)
        if args.command == "config" and args.config_command == "check":
            return _config_check(args.file)
        if args.command == "static-key":
            return _static_key(args.id)
        if args.command == "usage":
            from wardgate.cli import usage

            return usage.run(args)
        from wardgate.cli import identity

        done = identity.run(args)
        if done is not None:
            return done
    except ConfigError as exc:
        print(f"wardgate: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    _parser().print_help()
    return 2


def _serve(args) -> int:
    from wardgate.app import build_app, upstream_api_key
    from wardgate.identity.service import pepper_from_env
    from wardgate.logs import configure_logging
    from wardgate.server import serve
    from wardgate.settings import load_settings, settings_from_dict

    settings = load_settings(args.config)
    if args.host or args.port is not None:
        data = settings.model_dump()
        data["server"] |= {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
        settings = settings_from_dict(data, source=args.config or "defaults")
    if settings.upstream.simulated:
        raise ConfigError("upstream.simulated: use `wardgate demo` for the simulated upstream")
    key = upstream_api_key(settings)
    pepper = pepper_from_env(settings)
    configure_logging(settings.logging.level)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    app = build_app(settings, api_key=key, pepper=pepper)
    asyncio.run(_check_schema(app.identity.db))  # refuse an unmigrated database
    serve(app, settings.server.host, settings.server.port)
    return 0


async def _check_schema(db) -> None:
    try:
        await db.check_schema()
    finally:
        await db.engine.dispose()  # serve's event loop opens its own connections


def _demo(args) -> int:
    import tempfile

    from wardgate.app import build_app
    from wardgate.logs import configure_logging
    from wardgate.server import ThreadedServer, serve
    from wardgate.settings import settings_from_dict
    from wardgate.store.db import Database
    from wardgate.upstream.sim import SimState, SimUpstreamApp

    upstream_key = "sk-ant-sim-" + secrets.token_urlsafe(16)
    pepper = secrets.token_hex(32).encode()
    data_dir = tempfile.mkdtemp(prefix="wardgate-demo-")
    sim = ThreadedServer(SimUpstreamApp(SimState(api_key=upstream_key)), host="127.0.0.1").start()
    settings = settings_from_dict({
        "data_dir": data_dir,
        "server": {"host": args.host, "port": args.port},
        "upstream": {"base_url": sim.url, "simulated": True, "api_key_env": "WARDGATE_DEMO_UPSTREAM_KEY"},
    }, source="demo")
    db = Database(settings.database_url)
    db.upgrade()
    gateway_key = asyncio.run(_demo_bootstrap(db, pepper))
    configure_logging(settings.logging.level)
    app = build_app(settings, api_key=upstream_key, pepper=pepper)
    gateway = f"http://{args.host}:{args.port}"
    print(DEMO_BANNER.format(version=__version__, gateway=gateway, upstream=sim.url, key=gateway_key),
          flush=True)
    try:
        serve(app, args.host, args.port)
    finally:
        sim.stop()
    return 0


async def _demo_bootstrap(db, pepper: bytes) -> str:
    """A demo workspace, a developer, and a developer key for them (the key is returned)."""
    from wardgate.store.repo import IdentityRepo

    try:
        async with db.sessions() as s:
            repo = IdentityRepo(s, pepper, actor="demo")
            await repo.create_workspace("demo", "Demo workspace")
            user = await repo.create_user("demo", "demo-developer", "developer")
            key, _ = await repo.create_key("demo", "developer", owner=user.id, environment="dev",
                                           description="wardgate demo key")
            return key
    finally:
        await db.close()


def _sim(args) -> int:
    from wardgate.logs import configure_logging
    from wardgate.server import serve
    from wardgate.upstream.sim import SimState, SimUpstreamApp

    key = None
    if args.api_key_env:
        key = os.environ.get(args.api_key_env)
        if not key:
            raise ConfigError(f"--api-key-env: environment variable {args.api_key_env} is not set")
    configure_logging("warning")
    print(f"Wardgate SIMULATED upstream (no model) on http://{args.host}:{args.port}", flush=True)
    state = SimState(api_key=key, latency_ms=args.latency_ms, chunk_delay_ms=args.chunk_delay_ms)
    serve(SimUpstreamApp(state), args.host, args.port)
    return 0


def _config_check(path: str) -> int:
    from wardgate.guards import build_guards
    from wardgate.settings import load_settings

    settings = load_settings(path)
    build_guards(settings)
    print(f"ok: {path}")
    print(f"  upstream     {settings.upstream.base_url} (key from ${settings.upstream.api_key_env})")
    print(f"  listen       {settings.server.host}:{settings.server.port}")
    print(f"  database     {settings.database_url.split('@')[-1]}")
    print(f"  static keys  {len(settings.auth.static_keys)}")
    if not os.environ.get(settings.upstream.api_key_env):
        print(f"  warning: ${settings.upstream.api_key_env} is not set here; `serve` will refuse to start")
    return 0


def _static_key(key_id: str) -> int:
    key = "wg_static_" + secrets.token_urlsafe(32)
    digest = hashlib.sha256(key.encode()).hexdigest()
    print(f"key (shown once, give it to the caller): {key}")
    print("config entry (only the digest is stored):")
    print("auth:\n  static_keys:\n" f"    - id: {key_id}\n      sha256: {digest}")
    return 0
