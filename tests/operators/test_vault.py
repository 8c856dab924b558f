"""The pseudonym vault, memory and Redis held to the same behaviour; Redis against the real server."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from cryptography.exceptions import InvalidTag

from wardgate.limits.resp import RespClient
from wardgate.operators.vault import MemoryVault, RedisVault, VaultKey

KEY = VaultKey(b"test-pepper-0123456789abcdefghijklmnopqrstuvwxyz")
EMAIL = "jane.doe@example.com"
PHONE = "+44 20 7946 0958"


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def item(kind: str, value: str, cid: str = "c1", key: VaultKey = KEY) -> tuple[str, str, str]:
    return key.tag(cid, kind, value), kind.upper(), value


@pytest.fixture
def prefix() -> str:
    return f"wgtest:{uuid.uuid4().hex}:"


@pytest.fixture(params=["memory", "redis"])
async def vault(request, prefix):
    if request.param == "memory":
        v = MemoryVault(KEY, ttl=60, clock=Clock())
        yield v
    else:
        v = RedisVault(KEY, ttl=60, url=request.getfixturevalue("redis_url"), prefix=prefix)
        yield v
        await v.close()


async def test_the_same_value_gets_the_same_placeholder(vault) -> None:
    conv = await vault.load("c1")
    first = await vault.allocate(conv, [item("email", EMAIL)])
    again = await vault.allocate(conv, [item("email", EMAIL)])
    later = await vault.allocate(await vault.load("c1"), [item("email", EMAIL)])
    assert first == again == later == ["[EMAIL_1]"]


async def test_kinds_are_numbered_separately_in_order_of_first_appearance(vault) -> None:
    conv = await vault.load("c1")
    got = await vault.allocate(conv, [item("email", EMAIL), item("phone", PHONE), item("email", "b@example.org"),
                                      item("email", EMAIL)])
    assert got == ["[EMAIL_1]", "[PHONE_1]", "[EMAIL_2]", "[EMAIL_1]"]
    assert await vault.allocate(conv, [item("phone", "+1 415 555 2671")]) == ["[PHONE_2]"]


async def test_conversations_are_separate(vault) -> None:
    a = await vault.allocate(await vault.load("c1"), [item("email", "b@example.org", "c1")])
    b = await vault.allocate(await vault.load("c2"), [item("email", EMAIL, "c2")])
    assert a == b == ["[EMAIL_1]"]
    assert (await vault.load("c1")).values() == {"[EMAIL_1]": "b@example.org"}
    assert (await vault.load("c2")).values() == {"[EMAIL_1]": EMAIL}


async def test_a_loaded_conversation_decrypts_its_values_for_the_restore(vault) -> None:
    await vault.allocate(await vault.load("c1"), [item("email", EMAIL), item("phone", PHONE)])
    conv = await vault.load("c1")
    assert conv.values() == {"[EMAIL_1]": EMAIL, "[PHONE_1]": PHONE}
    assert conv.by_tag[KEY.tag("c1", "email", EMAIL)] == "[EMAIL_1]"


def test_tags_are_keyed_and_bound_to_conversation_and_kind() -> None:
    tag = KEY.tag("c1", "email", EMAIL)
    assert tag == KEY.tag("c1", "email", EMAIL)
    assert len({tag, KEY.tag("c2", "email", EMAIL), KEY.tag("c1", "person", EMAIL),
                VaultKey(b"another pepper").tag("c1", "email", EMAIL)}) == 4
    assert EMAIL not in tag


def test_sealing_uses_a_fresh_nonce_and_the_conversation_as_associated_data() -> None:
    a, b = KEY.seal("c1", EMAIL), KEY.seal("c1", EMAIL)
    assert a != b and EMAIL.encode() not in a
    assert KEY.open("c1", a) == KEY.open("c1", b) == EMAIL
    with pytest.raises(InvalidTag):
        KEY.open("c2", a)                                       # moved to another conversation
    with pytest.raises(InvalidTag):
        VaultKey(b"another pepper").open("c1", a)               # a wrong key
    with pytest.raises(InvalidTag):
        KEY.open("c1", a[:-1] + bytes([a[-1] ^ 1]))             # tampered


# ---- memory


async def test_memory_entries_expire_ttl_after_the_last_use() -> None:
    clock = Clock()
    vault = MemoryVault(KEY, ttl=60, clock=clock)
    await vault.allocate(await vault.load("c1"), [item("email", EMAIL)])
    clock.t += 50
    assert (await vault.load("c1")).values() == {"[EMAIL_1]": EMAIL}   # use renews it
    clock.t += 59
    assert (await vault.load("c1")).values() == {"[EMAIL_1]": EMAIL}
    clock.t += 60
    conv = await vault.load("c1")
    assert conv.values() == {}
    assert await vault.allocate(conv, [item("email", "b@example.org")]) == ["[EMAIL_1]"]  # numbering restarts


async def test_memory_evicts_expired_then_least_recently_used_when_full() -> None:
    clock = Clock()
    vault = MemoryVault(KEY, ttl=60, clock=clock, max_conversations=2)
    for cid in ("a", "b"):
        await vault.allocate(await vault.load(cid), [item("email", EMAIL, cid)])
    await vault.load("c")
    assert set(vault._convs) == {"b", "c"}


async def test_memory_vault_holds_no_plaintext() -> None:
    vault = MemoryVault(KEY, ttl=60, clock=Clock())
    await vault.allocate(await vault.load("c1"), [item("email", EMAIL), item("phone", PHONE)])
    stored = repr(vault._convs).encode() + b"".join(
        blob for _, _, sealed, _ in vault._convs.values() for blob in sealed.values())
    for value in (EMAIL, PHONE, "jane.doe", "7946 0958"):
        assert value.encode() not in stored


# ---- Redis


async def test_redis_hash_holds_no_plaintext_and_expires(redis_url, prefix) -> None:
    vault = RedisVault(KEY, ttl=30, url=redis_url, prefix=prefix)
    raw = RespClient(redis_url, timeout=2)
    try:
        await vault.allocate(await vault.load("c1"), [item("email", EMAIL), item("phone", PHONE)])
        fields = await raw.call("HGETALL", f"{prefix}vault:c1")
        assert len(fields) == 2 * 6                      # f:<tag> and p:<placeholder> for each, n:<label> for each
        blob = b"".join(x if isinstance(x, bytes) else str(x).encode() for x in fields)
        for value in (EMAIL, PHONE, "jane.doe", "7946 0958"):
            assert value.encode() not in blob
        assert 0 < await raw.call("PTTL", f"{prefix}vault:c1") <= 30_000
    finally:
        await raw.close()
        await vault.close()


async def test_two_replicas_racing_on_the_same_value_agree_on_one_placeholder(redis_url, prefix) -> None:
    a = RedisVault(KEY, ttl=60, url=redis_url, prefix=prefix)
    b = RedisVault(KEY, ttl=60, url=redis_url, prefix=prefix)
    try:
        conv_a, conv_b = await a.load("c1"), await b.load("c1")
        for _ in range(5):
            ra, rb = await asyncio.gather(a.allocate(conv_a, [item("email", EMAIL)]),
                                          b.allocate(conv_b, [item("email", EMAIL)]))
            assert ra == rb == ["[EMAIL_1]"]
        # and different values racing get different numbers
        ra, rb = await asyncio.gather(a.allocate(conv_a, [item("email", "a@example.org")]),
                                      b.allocate(conv_b, [item("email", "b@example.org")]))
        assert sorted(ra + rb) == ["[EMAIL_2]", "[EMAIL_3]"]
        assert (await a.load("c1")).values() == (await b.load("c1")).values()
    finally:
        await a.close()
        await b.close()


async def test_a_replica_with_a_wrong_key_cannot_decrypt(redis_url, prefix) -> None:
    good = RedisVault(KEY, ttl=60, url=redis_url, prefix=prefix)
    bad = RedisVault(VaultKey(b"another pepper"), ttl=60, url=redis_url, prefix=prefix)
    try:
        await good.allocate(await good.load("c1"), [item("email", EMAIL)])
        conv = await bad.load("c1")
        assert KEY.tag("c1", "email", EMAIL) in conv.by_tag     # the mapping is there...
        with pytest.raises(InvalidTag):
            conv.values()                                       # ...but not the value
        # nor does the wrong key's tag find the existing entry: it gets a placeholder of its own
        assert await bad.allocate(conv, [item("email", EMAIL, key=bad.key)]) == ["[EMAIL_2]"]
    finally:
        await good.close()
        await bad.close()
