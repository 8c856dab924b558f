"""CPU the dlp guard adds to a streamed request: the app in process against the simulated
upstream (46 text deltas per answer), 200 streams with ``guards.dlp.mode`` off, then on.

    .venv/bin/python bench/dlp/stream_cost.py

Client, gateway and simulator share the process, so the difference is what counts.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import time

import httpx

from wardgate.app import build_app
from wardgate.settings import settings_from_dict
from wardgate.testing import SimUpstream

KEY = "bench-gateway-key"
BODY = {"model": "claude-sonnet-5-5", "max_tokens": 256, "stream": True, "messages": [
    {"role": "user", "content": "Please summarise the benefits of a security gateway for platform teams "
                                "in one paragraph"}]}


async def cpu_per_stream(mode: str, n: int = 200) -> float:
    sim = SimUpstream(api_key="upstream")
    sim.start()
    settings = settings_from_dict({
        "data_dir": tempfile.mkdtemp(prefix="wg-stream-cost-"), "server": {"access_log": False},
        "upstream": {"base_url": sim.url},
        "auth": {"static_keys": [{"id": "bench", "sha256": hashlib.sha256(KEY.encode()).hexdigest()}]},
        "guards": {"dlp": {"mode": mode}}})
    app = build_app(settings, api_key="upstream", pepper=b"bench-pepper" * 3)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wardgate",
                               headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"})
    try:
        for _ in range(20):  # warm-up
            await client.post("/v1/messages", json=BODY)
        t0 = time.process_time()
        for _ in range(n):
            r = await client.post("/v1/messages", json=BODY)
            assert r.status_code == 200
        return (time.process_time() - t0) / n * 1000
    finally:
        await client.aclose()
        await app.close()
        sim.stop()


def main() -> int:
    off = asyncio.run(cpu_per_stream("off"))
    on = asyncio.run(cpu_per_stream("enforce"))
    print(f"CPU per streamed request: dlp off {off:.3f} ms, dlp on {on:.3f} ms, added {on - off:+.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
