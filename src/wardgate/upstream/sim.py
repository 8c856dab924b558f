"""The built-in simulated upstream: a real HTTP server that speaks the Messages API.

For demos, tests and benchmarks; every answer says it is simulated. Routes:
``POST /v1/messages`` (JSON and SSE, tool_use, thinking), ``POST /v1/messages/count_tokens``,
``GET /v1/models``, ``GET /v1/models/{id}``. Authentication, when a key is set:
``x-api-key`` or ``Authorization: Bearer`` (the SDK may send either).

Faults, taken one per ``/v1/messages`` request from a queue (``POST /_sim/faults``
``{"faults": ["529", "hang"]}``) or from an ``x-sim-fault`` request header:
``429[:retry_after]``, ``529``, ``500``, ``502``, ``503``, ``504``, ``hang`` (never answer),
``drop`` (close the connection part-way), ``idle`` (start a stream, then go quiet),
``error_event`` (an in-band SSE ``error`` mid-stream), ``unknown_event`` (an event type the
API does not have yet), ``slow[:ms]`` (a delay between stream events).

Inspection: ``GET /_sim/requests`` (what arrived, headers included), ``GET /_sim/stats``
(requests, completed, cancelled by the client, in flight), ``DELETE`` on either resets it.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from dataclasses import dataclass, field

import orjson

from wardgate.errors import WardgateError
from wardgate.proxy.intake import ClientDisconnected, read_body
from wardgate.upstream.simcontent import SIM_MODELS, build_reply, estimate_tokens

__all__ = ["SimUpstreamApp", "SimState"]

_MAX_BODY = 64 * 1024 * 1024

_ERRORS = {
    429: ("rate_limit_error", "Simulated rate limit."),
    500: ("api_error", "Simulated internal error."),
    502: ("api_error", "Simulated bad gateway."),
    503: ("api_error", "Simulated service unavailable."),
    504: ("api_error", "Simulated timeout."),
    529: ("overloaded_error", "Simulated overload."),
}


class _Dropped(Exception):
    """Raised inside the app to make the server abort the connection."""


@dataclass
class SimState:
    api_key: str | None = None          # when set, x-api-key must equal it
    latency_ms: float = 0.0
    chunk_delay_ms: float = 0.0
    piece_chars: int = 0                # >0: stream text in pieces of this many characters (else word by word)
    faults: deque = field(default_factory=deque)
    requests: deque = field(default_factory=lambda: deque(maxlen=1000))
    stats: dict = field(default_factory=lambda: {"requests": 0, "completed": 0, "cancelled": 0, "in_flight": 0})

    def reset(self) -> None:
        self.piece_chars = 0
        self.faults.clear()
        self.requests.clear()
        for k in self.stats:
            self.stats[k] = 0


class SimUpstreamApp:
    def __init__(self, state: SimState | None = None) -> None:
        self.state = state or SimState()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                await send({"type": msg["type"] + ".complete"})
                if msg["type"] == "lifespan.shutdown":
                    return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        try:
            body = await read_body(receive, scope["headers"], _MAX_BODY)
        except (ClientDisconnected, WardgateError):
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if path.startswith("/_sim/"):
            await self._control(path, method, body, send)
            return
        self.state.requests.append({"method": method, "path": path,
                                    "query": scope.get("query_string", b"").decode(),
                                    "headers": headers, "body": body.decode("utf-8", "replace")})
        presented = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        if self.state.api_key is not None and presented != self.state.api_key:
            await _json(send, 401, _err("authentication_error", "invalid x-api-key"))
            return
        if path == "/v1/messages" and method == "POST":
            await self._messages(body, headers, receive, send)
        elif path == "/v1/messages/count_tokens" and method == "POST":
            doc = _load(body)
            await _json(send, 200, {"input_tokens": estimate_tokens(doc.get("system"), doc.get("messages"),
                                                                     doc.get("tools"))})
        elif path == "/v1/models" and method == "GET":
            data = [_model(m, n) for m, n in SIM_MODELS]
            await _json(send, 200, {"data": data, "has_more": False,
                                    "first_id": data[0]["id"], "last_id": data[-1]["id"]})
        elif path.startswith("/v1/models/") and method == "GET":
            name = path.rsplit("/", 1)[1]
            match = [_model(m, n) for m, n in SIM_MODELS if m == name]
            if match:
                await _json(send, 200, match[0])
            else:
                await _json(send, 404, _err("not_found_error", f"model: {name}"))
        else:
            await _json(send, 404, _err("not_found_error", "Not found"))

    async def _control(self, path: str, method: str, body: bytes, send) -> None:
        st = self.state
        if path == "/_sim/faults" and method == "POST":
            st.faults.extend(_load(body).get("faults", []))
            await _json(send, 200, {"queued": list(st.faults)})
        elif path == "/_sim/faults" and method == "DELETE":
            st.faults.clear()
            await _json(send, 200, {"queued": []})
        elif path == "/_sim/requests" and method == "GET":
            await _json(send, 200, {"requests": list(st.requests)})
        elif path == "/_sim/stats" and method == "GET":
            await _json(send, 200, dict(st.stats))
        elif method == "DELETE" and path in ("/_sim/requests", "/_sim/stats"):
            st.reset()
            await _json(send, 200, {"reset": True})
        else:
            await _json(send, 404, _err("not_found_error", "Not found"))

    async def _messages(self, body: bytes, headers: dict, receive, send) -> None:
        st = self.state
        fault = headers.get("x-sim-fault") or (st.faults.popleft() if st.faults else "")
        kind, _, arg = fault.partition(":")
        st.stats["requests"] += 1
        st.stats["in_flight"] += 1
        gone = asyncio.Event()
        watcher = asyncio.ensure_future(_wait_gone(receive, gone))
        done = False
        try:
            if st.latency_ms:
                if await _sleep_or_gone(st.latency_ms / 1000, gone):
                    return
            done = await self._answer(kind, arg, _load(body), send, gone)
        finally:
            watcher.cancel()
            st.stats["in_flight"] -= 1
            if done:
                st.stats["completed"] += 1
            elif gone.is_set():
                st.stats["cancelled"] += 1

    async def _answer(self, kind: str, arg: str, doc: dict, send, gone: asyncio.Event) -> bool:
        if kind.isdigit() and int(kind) in _ERRORS:
            code = int(kind)
            extra = [(b"retry-after", (arg or "0").encode())] if code in (429, 529) else []
            extra.append((b"x-should-retry", b"true"))
            await _json(send, code, _err(*_ERRORS[code]), extra)
            return True
        if kind == "hang":
            await _sleep_or_gone(600, gone)
            return False
        reply = build_reply(doc)
        if not doc.get("stream"):
            payload = orjson.dumps(reply.message())
            if kind == "drop":
                await send({"type": "http.response.start", "status": 200, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
                await send({"type": "http.response.body", "body": payload[: len(payload) // 2], "more_body": True})
                raise _Dropped("simulated connection drop")
            await _json(send, 200, reply.message())
            return True
        await send({"type": "http.response.start", "status": 200, "headers": _headers(b"text/event-stream")})
        delay = self.state.chunk_delay_ms / 1000
        if kind == "slow":
            delay = float(arg or 50) / 1000
        events = reply.events(self.state.piece_chars)
        for i, (name, data) in enumerate(events):
            if kind in ("drop", "error_event", "idle") and i == 4:
                if kind == "drop":
                    await send({"type": "http.response.body", "body": b"event: content_block_delta\ndata: {\"ty",
                                "more_body": True})
                    raise _Dropped("simulated mid-stream drop")
                if kind == "idle":
                    await _sleep_or_gone(600, gone)
                    return False
                await _sse(send, "error", _err("overloaded_error", "Simulated overload mid-stream."))
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return True
            if kind == "unknown_event" and i == 3:
                await _sse(send, "wardgate_future_event", {"type": "wardgate_future_event", "detail": {"x": 1}})
            await _sse(send, name, data)
            if gone.is_set():
                return False
            if delay and await _sleep_or_gone(delay, gone):
                return False
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return True


async def _wait_gone(receive, gone: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


async def _sleep_or_gone(seconds: float, gone: asyncio.Event) -> bool:
    """Sleep; True if the client went away meanwhile."""
    try:
        await asyncio.wait_for(gone.wait(), seconds)
        return True
    except TimeoutError:
        return False


def _headers(ctype: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", ctype), (b"request-id", b"req_sim_" + os.urandom(8).hex().encode()),
            (b"anthropic-ratelimit-requests-limit", b"1000"),
            (b"anthropic-ratelimit-requests-remaining", b"999"),
            (b"x-wardgate-simulated", b"true"), (b"set-cookie", b"sim=1; Path=/")]


async def _json(send, status: int, doc: dict, extra: list | None = None) -> None:
    body = orjson.dumps(doc)
    hdrs = _headers(b"application/json") + [(b"content-length", str(len(body)).encode())] + (extra or [])
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _sse(send, name: str, data: dict) -> None:
    await send({"type": "http.response.body", "more_body": True,
                "body": b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"})


def _err(kind: str, message: str) -> dict:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _model(model_id: str, name: str) -> dict:
    return {"type": "model", "id": model_id, "display_name": name, "created_at": "2025-09-29T00:00:00Z"}


def _load(body: bytes) -> dict:
    try:
        doc = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}
