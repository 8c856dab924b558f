"""The relay: one proxied request from intake to the last byte.

    early guards (authn, on headers alone) → intake (size, type, strict JSON) → the other
    request hooks → upstream (retries, breaker) → response: JSON (response hooks) or SSE
    (event hooks, flushed per event)

A client disconnect cancels the upstream call: a watcher task waits on ``receive()`` and
cancels the handler, which closes the upstream connection. A mid-stream upstream failure
becomes an in-band SSE ``error`` event, never a fake ``message_stop``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING

from wardgate.errors import UpstreamError, WardgateError
from wardgate.flow import Flow
from wardgate.limits.usage import USAGE_EVENTS, fold_event, track_stream, usage_from_message
from wardgate.proxy.headers import client_address, downstream_headers, upstream_headers
from wardgate.proxy.intake import ClientDisconnected, check_content_type, check_fields, parse_json, read_body
from wardgate.proxy.respond import send_error, sse_error_event
from wardgate.upstream.client import UpstreamResponse
from wardgate.upstream.sse import SSEParser, complete_prefix

if TYPE_CHECKING:
    from wardgate.app import Gateway

__all__ = ["handle"]

log = logging.getLogger("wardgate.request")
_CLIENT_CLOSED = 499  # nginx's code for "client closed request", used in logs and metrics


def _request_id() -> str:
    return "wgreq_" + os.urandom(12).hex()


async def handle(gw: "Gateway", route: str, scope: dict, receive, send) -> None:
    raw_headers = scope["headers"]
    flow = Flow(request_id=_request_id(), route=route, method=scope["method"], path=scope["path"],
                query=scope.get("query_string", b""), client=client_address(scope, gw.trusted_proxies))
    gw.metrics.in_flight.inc()
    status = 500
    watcher: asyncio.Future | None = None
    try:
        flow.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw_headers}
        err = await gw.chain.run_request(flow, before_body=True)  # authn: before any parsing
        if err is not None:
            raise err
        if flow.method == "POST":
            check_content_type(raw_headers)
            flow.raw_body = await read_body(receive, raw_headers, gw.max_body)
            flow.body = check_fields(parse_json(flow.raw_body), route)
        err = await gw.chain.run_request(flow)
        if err is not None:
            raise err
        watcher = _watch_disconnect(receive, flow, asyncio.current_task())
        status = await _forward(gw, flow, raw_headers, send)
    except ClientDisconnected:
        status = _CLIENT_CLOSED
    except WardgateError as err:
        status = err.status_code
        if not any(d.action in ("deny", "error") for d in flow.decisions):
            flow.decide("gateway", err.code, "error")
        flow.finished = True  # the answer is decided: a disconnect now must not cancel the send
        await send_error(send, err, flow.request_id, flow.response_headers)
    except asyncio.CancelledError:
        if not flow.disconnected:
            raise
        asyncio.current_task().uncancel()
        status = _CLIENT_CLOSED
    except Exception as exc:  # a bug must still answer in the Anthropic shape, and fail closed
        log.error("unhandled error", extra={"request_id": flow.request_id, "error": type(exc).__name__},
                  exc_info=exc)
        flow.decide("gateway", "internal.error", "error")
        if flow.response_started and not flow.finished:
            status = 200  # already on the wire; the stream ends with an in-band error
            await _end_with_error(flow, send, WardgateError())
        elif not flow.response_started:
            status = 500
            flow.finished = True
            await send_error(send, WardgateError(), flow.request_id)
    finally:
        if watcher is not None:
            watcher.cancel()
        try:
            if gw.chain.finishes:  # release what guards reserved (a lease expiry backs this up)
                await gw.chain.run_finish(flow)
        finally:
            gw.metrics.in_flight.dec()
            _record(gw, flow, status)


def _watch_disconnect(receive, flow: Flow, task: asyncio.Task | None) -> asyncio.Future:
    async def wait() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    fut = asyncio.ensure_future(wait())

    def gone(f: asyncio.Future) -> None:
        if f.cancelled() or flow.finished or task is None or task.done():
            return
        flow.disconnected = True
        task.cancel()

    fut.add_done_callback(gone)
    return fut


def _own_limits(flow: Flow) -> bool:
    """The gateway sends the caller's own anthropic-ratelimit-* headers (the limits guard)."""
    return any(k.startswith(b"anthropic-ratelimit-") for k, _ in flow.response_headers)


def _meta_headers(flow: Flow, now: float) -> list[tuple[bytes, bytes]]:
    overhead_ms = max(0.0, (now - flow.started - flow.upstream_seconds) * 1000)
    flow.state["overhead_ms"] = overhead_ms
    return [(b"wardgate-request-id", flow.request_id.encode()),
            (b"wardgate-overhead-ms", f"{overhead_ms:.3f}".encode()), *flow.response_headers]


async def _forward(gw: "Gateway", flow: Flow, raw_headers, send) -> int:
    path = flow.path + ("?" + flow.query.decode("latin-1") if flow.query else "")
    body = flow.upstream_body() if flow.method == "POST" else None
    t0 = time.perf_counter()
    resp, flow.upstream_attempts = await gw.upstream.send(flow.method, path, upstream_headers(raw_headers), body)
    flow.upstream_status = resp.status
    try:
        if (flow.route == "messages" and resp.status == 200
                and resp.headers.get("content-type", "").startswith("text/event-stream")):
            flow.upstream_seconds = time.perf_counter() - t0
            return await _relay_stream(gw, flow, resp, send)
        data = await resp.read()
        flow.upstream_seconds = time.perf_counter() - t0
        flow.response_body = data
        if resp.status == 200 and flow.route == "messages" and gw.chain.finishes:  # a guard settles usage
            flow.usage = usage_from_message(flow.response)  # parsed once, shared with response hooks
            flow.answer_complete = flow.usage is not None
        if resp.status == 200 and flow.route == "messages" and gw.chain.inspects_responses:
            err = await gw.chain.run_response(flow)
            if err is not None:
                raise err
            data = flow.downstream_body()
        headers = downstream_headers(resp.headers.items(), own_limits=_own_limits(flow))
        headers.append((b"content-length", str(len(data)).encode()))
        headers += _meta_headers(flow, time.perf_counter())
        flow.finished = True
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send({"type": "http.response.body", "body": data, "more_body": False})
        return resp.status
    finally:
        resp.release()


async def _relay_stream(gw: "Gateway", flow: Flow, resp: UpstreamResponse, send) -> int:
    headers = downstream_headers(resp.headers.items(), own_limits=_own_limits(flow))
    headers.append((b"cache-control", b"no-cache"))
    headers += _meta_headers(flow, time.perf_counter())
    flow.response_started = True
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    chain = gw.chain
    parser = SSEParser() if chain.rewrites_events else None
    track = chain.finishes  # read usage as it goes by only when a guard settles it
    held = b""
    try:
        async for chunk in resp.chunks():
            if parser is not None:
                out = []
                for event in parser.feed(chunk):
                    if track:
                        _track_event(flow, event)
                    result = await chain.run_response_event(flow, event)
                    if isinstance(result, WardgateError):
                        await _end_with_error(flow, send, result)
                        return 200
                    _append_raw(out, result)
                data = b"".join(out)
            else:  # pass bytes through, but only whole events (a half event is held back)
                buf = held + chunk if held else chunk
                cut = complete_prefix(buf)
                if cut == len(buf):
                    data, held = buf, b""
                else:
                    data, held = buf[:cut], buf[cut:]
                if data and track:
                    _track(flow, data)
            if data:
                await send({"type": "http.response.body", "body": data, "more_body": True})
    except UpstreamError as err:
        log.warning("upstream stream failed", extra={"request_id": flow.request_id, "code": err.code})
        flow.decide("upstream", err.code, "error", "mid-stream failure")
        await _end_with_error(flow, send, err)
        return 200
    # An unterminated last event is relayed as it came when bytes pass through; with event
    # hooks it is dropped (no SSE client dispatches it, and no guard has seen it).
    tail = held
    if parser is None and tail and track:
        _track(flow, tail)
    if parser is not None:
        last, _ = parser.close()
        out = []
        for event in last:
            if track:
                _track_event(flow, event)
            result = await chain.run_response_event(flow, event)
            if isinstance(result, WardgateError):
                await _end_with_error(flow, send, result, b"".join(out))
                return 200
            _append_raw(out, result)
        tail = b"".join(out)
    if chain.inspects_responses:
        err = await chain.run_response(flow)
        if err is not None:
            await _end_with_error(flow, send, err, tail)
            return 200
    flow.finished = True
    await send({"type": "http.response.body", "body": tail, "more_body": False})
    return 200


def _append_raw(out: list[bytes], result) -> None:
    """What the event hooks returned for one event: an event, several (text a guard had held
    back), or none."""
    if isinstance(result, list):
        out.extend(e.raw for e in result)
    elif result is not None:
        out.append(result.raw)


def _track(flow: Flow, data: bytes) -> None:
    """Usage as raw bytes go by (the events' cumulative counts), for limits and the audit."""
    flow.usage, stopped = track_stream(flow.usage, data)
    flow.stream_deltas += data.count(b"event: content_block_delta")
    if stopped:
        flow.answer_complete = True


def _track_event(flow: Flow, event) -> None:
    """The same, for an event the parser already split (its JSON is parsed once, here)."""
    name = event.event
    if name == "content_block_delta":
        flow.stream_deltas += 1
    elif name == "message_stop":
        flow.answer_complete = True
    elif name in USAGE_EVENTS:
        flow.usage = fold_event(flow.usage, name, event.json)


async def _end_with_error(flow: Flow, send, err: WardgateError, prefix: bytes = b"") -> None:
    flow.finished = True
    await send({"type": "http.response.body", "body": prefix + sse_error_event(err, flow.request_id),
                "more_body": False})


def _record(gw: "Gateway", flow: Flow, status: int) -> None:
    total = time.perf_counter() - flow.started
    outcome = flow.outcome
    m = gw.metrics
    m.requests.labels(flow.route, str(status), outcome).inc()
    if flow.upstream_status is not None:
        m.upstream_latency.labels(flow.route).observe(flow.upstream_seconds)
        m.overhead.labels(flow.route).observe(flow.state.get("overhead_ms", 0.0) / 1000)
    if status == _CLIENT_CLOSED:
        m.disconnects.labels(flow.route).inc()
    if gw.access_log:
        log.info("request", extra={
            "request_id": flow.request_id, "route": flow.route, "method": flow.method,
            "status": status, "decision": outcome, "stream": flow.stream,
            "principal": flow.principal.id if flow.principal else None, "client": flow.client,
            "upstream_status": flow.upstream_status, "attempts": flow.upstream_attempts,
            "duration_ms": round(total * 1000, 3),
            "upstream_ms": round(flow.upstream_seconds * 1000, 3),
            "overhead_ms": round(flow.state.get("overhead_ms", 0.0), 3),
        })
