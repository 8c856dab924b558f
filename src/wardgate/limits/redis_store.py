"""RedisLimitStore: the limit store shared by every replica.

Each operation is one call of one Lua script (``limits.lua``, by ``EVALSHA``), so a
check-and-update is atomic across replicas, and all time (refills, periods, leases) is Redis
server time: replica clocks do not matter. Calls go through ``resp.RespClient`` (one
pipelined connection). Connection problems and timeouts raise ``StoreDown``; the caller
decides (budgets fail closed, rate limits may fall back to a local share).
"""

from __future__ import annotations

from importlib import resources

import hashlib

import orjson

from wardgate.limits.resp import RespClient, RespError, RespUnavailable
from wardgate.limits.store import Admission, Bucket, Quota, SettleItem, Settled, StoreDown

__all__ = ["RedisLimitStore"]

_SCRIPT = resources.files("wardgate.limits").joinpath("limits.lua").read_text(encoding="utf-8")
_SHA = hashlib.sha1(_SCRIPT.encode()).hexdigest()
# error replies that mean "this Redis cannot serve us now": treated like a connection failure
_UNAVAILABLE = ("READONLY", "LOADING", "MASTERDOWN", "NOAUTH", "WRONGPASS", "OOM", "BUSY", "CLUSTERDOWN",
                "TRYAGAIN", "NOREPLICAS")


def _check(c: Bucket | Quota) -> dict:
    if isinstance(c, Bucket):
        return {"t": "b", "k": c.key, "cap": c.capacity, "amt": c.amount, "per": c.per}
    d = {"t": "q", "k": c.key, "lim": c.limit, "amt": c.amount, "p": c.period, "idle": c.idle}
    if c.ledger is not None:
        d["led"] = True
    return d


def _list(v) -> list:
    return v if isinstance(v, list) else []  # Lua encodes an empty table as {}


class RedisLimitStore:
    def __init__(self, url: str, prefix: str = "wg:", timeout: float = 0.5) -> None:
        self.prefix = prefix
        self.client = RespClient(url, timeout)

    async def _run(self, op: str, payload: dict):
        args = (op, self.prefix, orjson.dumps(payload))
        try:
            try:
                raw = await self.client.call("EVALSHA", _SHA, 0, *args)
            except RespError as exc:
                if not str(exc).startswith("NOSCRIPT"):
                    raise
                raw = await self.client.call("EVAL", _SCRIPT, 0, *args)  # loads it for next time
        except RespUnavailable as exc:
            raise StoreDown(str(exc)) from exc
        except RespError as exc:
            if str(exc).startswith(_UNAVAILABLE):  # e.g. an old primary after a failover
                self.client.reset()
                raise StoreDown(str(exc).split(" ", 1)[0]) from exc
            raise  # anything else is a bug: the guard fails closed
        return orjson.loads(raw)

    async def admit(self, lease: str, checks: list[Bucket | Quota], lease_seconds: float,
                    init: dict[int, int] | None = None) -> Admission:
        payload: dict = {"lease": lease, "ttl": lease_seconds, "checks": [_check(c) for c in checks]}
        if init:
            payload["init"] = {str(i): v for i, v in init.items()}
        r = await self._run("admit", payload)
        keys = _list(r.get("keys"))
        if "need" in r:
            return Admission(False, r["now"], [], [], keys, need_ledger=[(int(i), float(s)) for i, s in r["need"]])
        return Admission(bool(r["ok"]), r["now"], _list(r.get("rem")), _list(r.get("resets")), keys,
                         int(r.get("failed", -1)), float(r.get("retry", 0.0)))

    async def settle(self, lease: str, items: list[SettleItem]) -> list[Settled]:
        return (await self.settle_many([(lease, items)]))[0]

    async def settle_many(self, batch: list[tuple[str, list[SettleItem]]]) -> list[list[Settled]]:
        """Several requests' settlements in one script call (the service batches them)."""
        payload = {"batch": [{"lease": lease, "items": [
            {"t": "b" if it.kind == "bucket" else "q", "k": it.key, "rsv": it.reserved, "act": it.actual,
             "cap": it.capacity, "per": it.per, "led": it.ledger} for it in items]} for lease, items in batch]}
        out = _list(await self._run("settle", payload))
        return [[Settled(k, int(b), int(a)) for k, b, a in _list(one)] for one in out]

    async def renew(self, lease: str, keys: list[str], lease_seconds: float) -> None:
        await self._run("renew", {"lease": lease, "keys": keys, "ttl": lease_seconds})

    async def raise_used(self, key: str, used: int) -> None:
        await self._run("raise", {"k": key, "used": used})

    async def ping(self) -> bool:
        try:
            return await self.client.call("PING") == b"PONG"
        except (RespUnavailable, RespError):
            return False

    async def scan_ledger_keys(self) -> list[str]:
        """Budget and per-day counters present in Redis (for reconciliation at start)."""
        out, cursor = [], b"0"
        try:
            while True:
                cursor, keys = await self.client.call("SCAN", cursor, "MATCH", self.prefix + "q:L|*", "COUNT", 500)
                for raw in keys:
                    k = raw.decode()
                    if not k.endswith((":r", ":e")):
                        out.append(k[len(self.prefix) + 2:])
                if cursor == b"0":
                    return out
        except RespUnavailable as exc:
            raise StoreDown(str(exc)) from exc

    async def close(self) -> None:
        await self.client.close()
