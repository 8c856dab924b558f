"""The pseudonym vault: per conversation, value ↔ placeholder, encrypted, expiring.

A value is looked up by a keyed hash (HMAC-SHA256 of kind and value), so neither backend
holds a plaintext value or an unkeyed hash of one; the value itself is stored encrypted with
AES-256-GCM (a fresh nonce each time, the conversation id as associated data) for the
restore. Placeholders are ``[KIND_n]``, numbered per kind in order of first appearance, and
stable for the conversation's lifetime: every entry expires ``ttl`` seconds after the
conversation was last used.

``MemoryVault`` serves one process. ``RedisVault`` lets replicas share conversations: one
hash per conversation, and one Lua script that allocates a batch of placeholders atomically
(two replicas racing on the same value agree on one placeholder).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable, Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wardgate.limits.resp import RespClient, RespError, RespUnavailable

__all__ = ["VaultKey", "MemoryVault", "RedisVault", "VaultUnavailable", "Conversation"]


class VaultUnavailable(Exception):
    pass


class VaultKey:
    """Derives the MAC and encryption keys from one secret (the gateway pepper)."""

    def __init__(self, secret: bytes) -> None:
        self._mac = hmac.new(secret, b"wardgate-vault-mac", hashlib.sha256).digest()
        self._aead = AESGCM(hmac.new(secret, b"wardgate-vault-aead", hashlib.sha256).digest())

    def tag(self, cid: str, kind: str, value: str) -> str:
        return hmac.new(self._mac, f"{cid}\0{kind}\0{value}".encode(), hashlib.sha256).hexdigest()[:32]

    def seal(self, cid: str, value: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, value.encode(), cid.encode())

    def open(self, cid: str, blob: bytes) -> str:
        return self._aead.decrypt(blob[:12], blob[12:], cid.encode()).decode()


class Conversation:
    """One conversation's mapping as a request uses it: what was loaded, plus what it added."""

    def __init__(self, cid: str, key: VaultKey, by_tag: dict[str, str], sealed: dict[str, bytes]) -> None:
        self.cid = cid
        self.key = key
        self.by_tag = by_tag            # tag → placeholder
        self._sealed = sealed            # placeholder → sealed value
        self._plain: dict[str, str] = {}

    def values(self) -> dict[str, str]:
        """placeholder → value, every value of the conversation decrypted (the vault's read
        path; the guard itself restores only what the request sent)."""
        for ph, blob in self._sealed.items():
            if ph not in self._plain:
                self._plain[ph] = self.key.open(self.cid, blob)
        return self._plain

    def learn(self, placeholder: str, value: str, tag: str) -> None:
        self.by_tag[tag] = placeholder
        self._plain[placeholder] = value


class MemoryVault:
    def __init__(self, key: VaultKey, ttl: float, clock: Callable[[], float] = time.monotonic,
                 max_conversations: int = 100_000) -> None:
        self.key = key
        self.ttl = ttl
        self.clock = clock
        self.max = max_conversations
        self._convs: dict[str, tuple[float, dict[str, str], dict[str, bytes], dict[str, int]]] = {}

    def _entry(self, cid: str):
        now = self.clock()
        e = self._convs.get(cid)
        if e is None or e[0] <= now:
            if len(self._convs) >= self.max:
                self._evict(now)
            e = (now + self.ttl, {}, {}, {})
        else:
            e = (now + self.ttl, *e[1:])
            del self._convs[cid]  # re-inserted last: the dict's order is least recently used first
        self._convs[cid] = e
        return e

    def _evict(self, now: float) -> None:
        for cid in [c for c, e in self._convs.items() if e[0] <= now]:
            del self._convs[cid]
        while len(self._convs) >= self.max:  # still full: the least recently used go
            del self._convs[next(iter(self._convs))]

    async def load(self, cid: str) -> Conversation:
        _, by_tag, sealed, _ = self._entry(cid)
        return Conversation(cid, self.key, dict(by_tag), dict(sealed))

    async def allocate(self, conv: Conversation, items: Sequence[tuple[str, str, str]]) -> list[str]:
        """``items``: (tag, label, value). Returns each one's placeholder (existing or new)."""
        _, by_tag, sealed, counters = self._entry(conv.cid)
        out = []
        for tag, lab, value in items:
            ph = by_tag.get(tag)
            if ph is None:
                counters[lab] = counters.get(lab, 0) + 1
                ph = f"[{lab}_{counters[lab]}]"
                by_tag[tag] = ph
                sealed[ph] = self.key.seal(conv.cid, value)
            conv.learn(ph, value, tag)
            out.append(ph)
        return out

    async def close(self) -> None:
        self._convs.clear()


_LUA = """
local key, ttl = KEYS[1], tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV, 3 do
  local tag, label, sealed = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local ph = redis.call('HGET', key, 'f:' .. tag)
  if not ph then
    local n = redis.call('HINCRBY', key, 'n:' .. label, 1)
    ph = '[' .. label .. '_' .. n .. ']'
    redis.call('HSET', key, 'f:' .. tag, ph, 'p:' .. ph, sealed)
  end
  out[#out + 1] = ph
end
redis.call('PEXPIRE', key, math.floor(ttl * 1000))
return out
"""
_SHA = hashlib.sha1(_LUA.encode()).hexdigest()


class RedisVault:
    def __init__(self, key: VaultKey, ttl: float, url: str, prefix: str = "wg:", timeout: float = 0.5) -> None:
        self.key = key
        self.ttl = ttl
        self.prefix = prefix
        self.client = RespClient(url, timeout)

    def _name(self, cid: str) -> str:
        return f"{self.prefix}vault:{cid}"

    async def _call(self, *args):
        try:
            return await self.client.call(*args)
        except (RespUnavailable, RespError, OSError) as exc:
            raise VaultUnavailable(type(exc).__name__) from exc

    async def load(self, cid: str) -> Conversation:
        raw = await self._call("HGETALL", self._name(cid))
        by_tag: dict[str, str] = {}
        sealed: dict[str, bytes] = {}
        for i in range(0, len(raw or ()), 2):
            field, value = raw[i], raw[i + 1]
            name = field.decode() if isinstance(field, bytes) else field
            if name.startswith("f:"):
                by_tag[name[2:]] = value.decode() if isinstance(value, bytes) else value
            elif name.startswith("p:"):
                sealed[name[2:]] = value if isinstance(value, bytes) else value.encode("latin-1")
        return Conversation(cid, self.key, by_tag, sealed)

    async def allocate(self, conv: Conversation, items: Sequence[tuple[str, str, str]]) -> list[str]:
        args = [str(self.ttl)]
        for tag, lab, value in items:
            args += [tag, lab, self.key.seal(conv.cid, value)]
        try:
            raw = await self._call("EVALSHA", _SHA, 1, self._name(conv.cid), *args)
        except VaultUnavailable as exc:
            if "NOSCRIPT" not in str(exc.__cause__):
                raise
            raw = await self._call("EVAL", _LUA, 1, self._name(conv.cid), *args)
        out = []
        for (tag, _lab, value), ph in zip(items, raw):
            ph = ph.decode() if isinstance(ph, bytes) else ph
            conv.learn(ph, value, tag)
            out.append(ph)
        return out

    async def close(self) -> None:
        await self.client.close()
