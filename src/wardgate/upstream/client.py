"""The upstream HTTP client: one pooled aiohttp session, timeouts, safe retries, breaker.

Retries happen only where they cannot duplicate work the client will see: a connection
that could not be made (nothing was sent), and answers 429 / 529 / 500 / 502 / 503 / 504,
which arrive before the first byte is relayed to the client. At most ``retries.max`` (≤ 2)
retries with full-jitter backoff; a ``retry-after`` above ``retry_after_max`` is not waited
for: the answer goes back to the client as it is.

Timeouts: ``connect`` (TCP/TLS set-up), ``pool`` (waiting for a pooled connection, plus
connect), ``write`` (sending the request body), ``read`` (idle time between two reads of
the response, so it bounds both the wait for headers and each gap in a stream).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

import aiohttp
from aiohttp import payload as aio_payload

from wardgate.errors import UpstreamError, UpstreamTimeout
from wardgate.settings import UpstreamSettings
from wardgate.upstream.breaker import CircuitBreaker

__all__ = ["UpstreamClient", "UpstreamResponse", "RETRYABLE_STATUS", "parse_retry_after"]

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504, 529})
BREAKER_FAILURE_STATUS = frozenset({500, 502, 503, 504, 529})


class _WriteTimeout(OSError):
    pass


class _TimedBytesPayload(aio_payload.BytesPayload):
    """Bytes body whose write to the socket is bounded by the write timeout."""

    def __init__(self, value: bytes, timeout: float) -> None:
        super().__init__(value, content_type=None)
        self._timeout = timeout

    async def write(self, writer) -> None:  # type: ignore[override]
        await self.write_with_length(writer, None)

    async def write_with_length(self, writer, content_length) -> None:  # type: ignore[override]
        try:
            async with asyncio.timeout(self._timeout):
                await super().write_with_length(writer, content_length)
        except TimeoutError:
            raise _WriteTimeout("upstream write timed out") from None


def parse_retry_after(headers) -> float | None:
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            return None  # HTTP-dates are not worth honouring for a sub-minute wait
    return None


class UpstreamResponse:
    __slots__ = ("status", "headers", "_resp")

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self.status = resp.status
        self.headers = resp.headers

    async def read(self) -> bytes:
        try:
            return await self._resp.read()
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout() from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError("The upstream connection failed while reading the response.") from exc

    async def chunks(self) -> AsyncIterator[bytes]:
        """Bytes as they arrive; raises UpstreamError/UpstreamTimeout on a broken stream."""
        content = self._resp.content
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    return
                yield chunk
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout("The upstream stream went idle for longer than the read timeout.") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError("The upstream stream was interrupted.") from exc

    def release(self) -> None:
        # A body that was not read to the end cannot be reused: close the connection, which
        # also tells the upstream to stop generating.
        if not self._resp.content.at_eof():
            self._resp.close()
        else:
            self._resp.release()


class UpstreamClient:
    def __init__(self, settings: UpstreamSettings, api_key: str, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rng: Callable[[], float] = random.random,
                 on_retry: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.base_url = settings.base_url
        self._api_key = api_key
        self._sleep = sleep
        self._rng = rng
        self._on_retry = on_retry or (lambda reason: None)
        self.breaker = CircuitBreaker(settings.breaker.failures, settings.breaker.open_seconds, clock)
        t = settings.timeouts
        self._timeout = aiohttp.ClientTimeout(total=None, connect=t.pool + t.connect,
                                              sock_connect=t.connect, sock_read=t.read)
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.settings.max_connections,
                                             keepalive_timeout=30, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, auto_decompress=False,
                skip_auto_headers=("User-Agent", "Content-Type"), trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _backoff(self, attempt: int) -> float:
        r = self.settings.retries
        return self._rng() * min(r.backoff_max, r.backoff_base * (2 ** attempt))

    async def send(self, method: str, path: str, headers: Iterable[tuple[str, str]],
                   body: bytes | None = None) -> tuple[UpstreamResponse, int]:
        """Send with retries; return the response (headers read, body not) and attempts made."""
        session = self._get_session()
        url = self.base_url + path
        hdrs = list(headers)
        hdrs.append(("x-api-key", self._api_key))
        retries = self.settings.retries
        attempt = 0
        while True:
            ticket = self.breaker.acquire()
            data = _TimedBytesPayload(body, self.settings.timeouts.write) if body is not None else None
            try:
                resp = await session.request(method, url, data=data, headers=hdrs,
                                             allow_redirects=False)
            except aiohttp.ClientConnectorError as exc:  # nothing was sent: safe to retry
                self.breaker.failure(ticket)
                if attempt < retries.max and not isinstance(exc, aiohttp.ClientConnectorCertificateError):
                    self._on_retry("connect")
                    await self._sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise UpstreamError() from exc
            except aiohttp.ConnectionTimeoutError as exc:  # pool or connect timeout: nothing sent
                self.breaker.failure(ticket)
                if attempt < retries.max:
                    self._on_retry("connect_timeout")
                    await self._sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise UpstreamTimeout("Timed out connecting to the upstream API.") from exc
            except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
                self.breaker.failure(ticket)
                raise UpstreamTimeout() from exc
            except aiohttp.ClientError as exc:
                self.breaker.failure(ticket)
                if _caused_by(exc, _WriteTimeout):
                    raise UpstreamTimeout("Timed out sending the request to the upstream API.") from exc
                raise UpstreamError() from exc
            except BaseException:
                self.breaker.abandon(ticket)
                raise
            status = resp.status
            if status in BREAKER_FAILURE_STATUS:
                self.breaker.failure(ticket)
            else:
                self.breaker.success(ticket)
            if status in RETRYABLE_STATUS and attempt < retries.max:
                wait = parse_retry_after(resp.headers)
                if wait is None:
                    wait = self._backoff(attempt)
                if wait <= retries.retry_after_max:
                    resp.release()
                    self._on_retry(str(status))
                    await self._sleep(wait)
                    attempt += 1
                    continue
            return UpstreamResponse(resp), attempt + 1

    async def probe(self, timeout: float = 2.0) -> bool:
        """Can a TCP connection to the upstream be opened? (readiness; sends no request)."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            async with asyncio.timeout(timeout):
                _, writer = await asyncio.open_connection(parts.hostname, port)
        except (OSError, TimeoutError):
            return False
        writer.close()
        return True


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False
