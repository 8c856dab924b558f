"""Serve a stack variant for bench/stack.sh (measuring the choice of loop, parser and client).

    python bench/stack_serve.py wardgate --loop asyncio --http h11 --port 18300
        the real Wardgate app (bench/wardgate.bench.yaml) under other uvicorn settings
    python bench/stack_serve.py relay --client httpx --port 18300
        a bare relay with no gateway logic: isolates the upstream client's cost

The upstream is $MOCK_URL (set by the shared harness). Bench-only: not part of the package.
"""

from __future__ import annotations

import argparse
import os

import uvicorn


def bare_relay(client_kind: str, upstream: str):
    state: dict = {}

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        from wardgate.proxy.intake import read_body

        body = await read_body(receive, scope["headers"], 64 * 1024 * 1024)
        headers = {"content-type": "application/json", "x-api-key": "sk-ant-bench",
                   "anthropic-version": "2023-06-01"}
        if client_kind == "aiohttp":
            import aiohttp
            if "s" not in state:
                state["s"] = aiohttp.ClientSession(auto_decompress=False)
            async with state["s"].post(upstream + "/v1/messages", data=body, headers=headers) as r:
                await send({"type": "http.response.start", "status": r.status,
                            "headers": [(b"content-type", r.headers["content-type"].encode())]})
                async for chunk in r.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        else:
            import httpx
            if "c" not in state:
                state["c"] = httpx.AsyncClient(limits=httpx.Limits(max_connections=256))
            req = state["c"].build_request("POST", upstream + "/v1/messages", content=body, headers=headers)
            r = await state["c"].send(req, stream=True)
            try:
                await send({"type": "http.response.start", "status": r.status_code,
                            "headers": [(b"content-type", r.headers["content-type"].encode())]})
                async for chunk in r.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            finally:
                await r.aclose()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["wardgate", "relay"])
    p.add_argument("--loop", default="uvloop", choices=["uvloop", "asyncio"])
    p.add_argument("--http", default="httptools", choices=["httptools", "h11"])
    p.add_argument("--client", default="aiohttp", choices=["aiohttp", "httpx"])
    p.add_argument("--port", type=int, default=18300)
    a = p.parse_args()
    upstream = os.environ["MOCK_URL"]
    if a.kind == "wardgate":
        from wardgate.app import build_app
        from wardgate.logs import configure_logging
        from wardgate.settings import load_settings

        os.environ["WARDGATE_UPSTREAM__BASE_URL"] = upstream
        os.environ.setdefault("WARDGATE_DATA_DIR", os.environ.get("GW_RUNDIR", "/tmp/wardgate-stack"))
        settings = load_settings(os.path.join(os.path.dirname(__file__), "wardgate.bench.yaml"))
        configure_logging("info")
        app = build_app(settings, pepper=b"bench-pepper-0123456789abcdefghijklmnop")
        app.identity.db.upgrade()
    else:
        app = bare_relay(a.client, upstream)
    uvicorn.run(app, host="127.0.0.1", port=a.port, loop=a.loop, http=a.http, access_log=False,
                log_config=None, proxy_headers=False, server_header=False, lifespan="on")


if __name__ == "__main__":
    main()
