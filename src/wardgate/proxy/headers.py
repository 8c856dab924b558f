"""Header hygiene, both ways.

Upstream: the client's credentials, cookies, ``host``, hop-by-hop headers, any header named
in ``Connection`` and caller-supplied forwarding headers are never sent; the upstream key is
added by the upstream client from configuration only. Everything else (``anthropic-version``,
``anthropic-beta``, ``content-type``, the SDK's ``x-stainless-*``...) passes through.

Downstream: only the upstream response headers clients use are passed back
(``request-id``, ``anthropic-*`` including ``anthropic-ratelimit-*``, ``retry-after``,
``x-should-retry``, ``content-type``); cookies and hop-by-hop headers stay behind.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["upstream_headers", "downstream_headers", "client_address", "HOP_BY_HOP"]

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
    "upgrade", "proxy-authenticate", "proxy-authorization",
})
_NEVER_FORWARD = HOP_BY_HOP | frozenset({
    "x-api-key", "authorization", "cookie", "host", "content-length", "accept-encoding",
    "forwarded", "x-real-ip", "true-client-ip", "cf-connecting-ip", "expect",
})
_PASS_BACK = frozenset({
    "content-type", "request-id", "x-request-id", "retry-after", "retry-after-ms",
    "x-should-retry",
})


def upstream_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """The client's headers, cleaned for the upstream (no credentials of any kind)."""
    named: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for k, v in raw:
        name = k.decode("latin-1").lower()
        if name == "connection":
            named.update(t.strip().lower() for t in v.decode("latin-1").split(","))
            continue
        if name in _NEVER_FORWARD or name.startswith("x-forwarded-"):
            continue
        pairs.append((name, v.decode("latin-1")))
    if named:
        pairs = [(k, v) for k, v in pairs if k not in named]
    pairs.append(("accept-encoding", "identity"))
    return pairs


def downstream_headers(upstream: Iterable[tuple[str, str]], own_limits: bool = False) -> list[tuple[bytes, bytes]]:
    """``own_limits``: the gateway sends the caller's own ``anthropic-ratelimit-*`` headers, so
    the upstream's (which describe the organisation's shared key) are dropped."""
    out = []
    for k, v in upstream:
        name = k.lower()
        if own_limits and name.startswith("anthropic-ratelimit-"):
            continue
        if name in _PASS_BACK or name.startswith("anthropic-"):
            out.append((name.encode("latin-1"), v.encode("latin-1")))
    return out


def client_address(scope: dict, trusted: frozenset[str]) -> str | None:
    """The peer address; X-Forwarded-For is believed only when the peer is a trusted proxy."""
    peer = scope.get("client")
    addr = peer[0] if peer else None
    if not trusted or addr not in trusted:
        return addr
    for k, v in scope.get("headers", ()):
        if k == b"x-forwarded-for":
            hops = [h.strip() for h in v.decode("latin-1").split(",") if h.strip()]
            for hop in reversed(hops):  # right-most address that is not one of our proxies
                if hop not in trusted:
                    return hop
    return addr
