"""Small ASGI send helpers: JSON bodies and errors in the Anthropic shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import orjson

from wardgate.errors import WardgateError

__all__ = ["send_bytes", "send_json", "send_error", "sse_error_event"]

Send = Callable[[dict], Awaitable[None]]


async def send_bytes(send: Send, status: int, body: bytes, content_type: bytes,
                     headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    hdrs = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_json(send: Send, status: int, doc: object,
                    headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    await send_bytes(send, status, orjson.dumps(doc), b"application/json", headers)


async def send_error(send: Send, err: WardgateError, request_id: str | None = None,
                     headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    extra = [*err.headers(), *headers]
    if request_id:
        extra.append((b"wardgate-request-id", request_id.encode()))
    await send_bytes(send, err.status_code, err.body(request_id), b"application/json", extra)


def sse_error_event(err: WardgateError, request_id: str | None = None) -> bytes:
    """An in-band SSE ``error`` event, as the Messages API sends one mid-stream."""
    return b"event: error\ndata: " + err.body(request_id) + b"\n\n"
