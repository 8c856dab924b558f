"""Both limit stores, held to the same behaviour; the Redis one against the real server."""

import asyncio
import datetime as dt
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardgate.limits.period import period_bounds
from wardgate.limits.redis_store import RedisLimitStore
from wardgate.limits.store import NEVER, Bucket, Ledger, MemoryLimitStore, Quota, SettleItem, StoreDown


class Clock:
    def __init__(self, t: float = 1_790_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(params=["memory", "redis"])
async def store(request):
    if request.param == "memory":
        yield MemoryLimitStore(clock=Clock())
    else:
        s = RedisLimitStore(request.getfixturevalue("redis_url"), prefix=f"wgtest:{uuid.uuid4().hex}:")
        yield s
        await s.close()


async def test_bucket_admits_its_capacity_then_refuses_with_retry_after(store):
    results = [await store.admit(f"l{i}", [Bucket("rpm|k", 3, 1)], 60) for i in range(4)]
    assert [a.ok for a in results] == [True, True, True, False]
    assert results[3].failed == 0 and 0 < results[3].retry_after <= 20.0
    too_big = await store.admit("x", [Bucket("tpm|k", 100, 101)], 60)
    assert not too_big.ok and too_big.retry_after == NEVER


async def test_admission_is_all_or_nothing(store):
    checks = [Bucket("rpm|a", 10, 1), Quota("cc|a", 1, 1)]
    assert (await store.admit("l1", checks, 60)).ok
    refused = await store.admit("l2", checks, 60)
    assert not refused.ok and refused.failed == 1
    # the refused request took nothing from the bucket: 8 left after the first one and this check
    probe = await store.admit("l3", [Bucket("rpm|a", 10, 1)], 60)
    assert probe.remaining[0] == pytest.approx(8, abs=0.01)


async def test_settle_turns_the_reservation_into_use(store):
    q = Quota("L|cost|key|k|*|month", 100, 60, "month", Ledger("key", "k", None, "cost"))
    first = await store.admit("l1", [q], 60)
    assert first.need_ledger and first.need_ledger[0][0] == 0
    a = await store.admit("l1", [q], 60, init={0: 10})
    assert a.ok and a.remaining == [30]
    assert not (await store.admit("l2", [q], 60)).ok      # 10 used + 60 reserved + 60 > 100
    [s] = await store.settle("l1", [SettleItem("quota", a.keys[0], 60, 7)])
    assert (s.used_before, s.used_after) == (10, 17)
    b = await store.admit("l2", [q], 60)
    assert b.ok and b.remaining == [100 - 17 - 60]


async def test_bucket_settle_refunds_unused_tokens_and_may_go_into_debt(store):
    a = await store.admit("l1", [Bucket("tpm|k", 1000, 900)], 60)
    assert a.ok
    await store.settle("l1", [SettleItem("bucket", "tpm|k", 900, 100, 1000, 60)])
    assert (await store.admit("l2", [Bucket("tpm|k", 1000, 800)], 60)).ok
    await store.settle("l2", [SettleItem("bucket", "tpm|k", 800, 1500, 1000, 60)])  # used more than reserved
    late = await store.admit("l3", [Bucket("tpm|k", 1000, 1)], 60)
    assert not late.ok  # in debt until the refill pays it back


async def test_quota_refusal_names_the_period_reset(store):
    q = Quota("L|tokens|key|k|*|day", 10, 11, "day", None)
    a = await store.admit("l1", [q], 60)
    assert not a.ok and a.retry_after == NEVER
    q2 = Quota("L|tokens|key|k|*|day", 10, 6, "day", None)
    assert (await store.admit("l1", [q2], 60)).ok
    b = await store.admit("l2", [q2], 60)
    start, end = period_bounds("day", b.now)
    assert not b.ok and b.resets[0] == end and b.retry_after == pytest.approx(end - b.now, abs=1)


async def test_a_dead_replicas_reservation_expires_with_its_lease(store):
    q = Quota("cc|k", 1, 1)
    assert (await store.admit("dead", [q], 1)).ok
    assert not (await store.admit("l2", [q], 1)).ok
    if isinstance(store, MemoryLimitStore):
        store.clock.t += 1.5
    else:
        await asyncio.sleep(1.5)  # Redis server time cannot be injected
    assert (await store.admit("l3", [q], 1)).ok


async def test_renewed_leases_do_not_expire(store):
    q = Quota("cc|r", 1, 1)
    assert (await store.admit("live", [q], 1)).ok
    for _ in range(5):  # 3 s: longer than the counter's own idle expiry (2 × lease)
        if isinstance(store, MemoryLimitStore):
            store.clock.t += 0.6
        else:
            await asyncio.sleep(0.6)
        await store.renew("live", ["cc|r"], 1)
    assert not (await store.admit("other", [q], 1)).ok


async def test_raise_used_only_moves_up(store):
    q = Quota("L|cost|user|u|*|day", 100, 1, "day", Ledger("user", "u", None, "cost"))
    a = await store.admit("l1", [q], 60, init={0: 50})
    await store.raise_used(a.keys[0], 40)
    await store.raise_used(a.keys[0], 70)
    [s] = await store.settle("l1", [SettleItem("quota", a.keys[0], 1, 0)])
    assert s.used_after == 70


async def test_fifty_concurrent_requests_with_budget_for_one(redis_url):
    store = RedisLimitStore(redis_url, prefix=f"wgtest:{uuid.uuid4().hex}:")
    q = Quota("L|cost|key|k|*|month", 1000, 1000, "month", Ledger("key", "k", None, "cost"))
    try:
        results = await asyncio.gather(*[store.admit(f"l{i}", [q], 60, init={0: 0}) for i in range(50)])
    finally:
        await store.close()
    assert sum(a.ok for a in results) == 1


async def test_redis_down_is_store_down():
    s = RedisLimitStore("redis://127.0.0.1:1/0", timeout=0.2)
    with pytest.raises(StoreDown):
        await s.admit("l", [Bucket("rpm|x", 1, 1)], 60)
    await s.close()


async def test_lua_and_python_agree_on_periods(redis_url):
    s = RedisLimitStore(redis_url, prefix=f"wgtest:{uuid.uuid4().hex}:")
    try:
        for period in ("day", "week", "month"):
            a = await s.admit("l", [Quota(f"q|{period}", 10, 1, period)], 60)
            start, end = period_bounds(period, a.now)
            assert a.keys[0].endswith(f":{start}") and a.resets[0] == end
    finally:
        await s.close()


@given(st.floats(0, 4_000_000_000))
def test_period_bounds(now):
    for p in ("day", "week", "month"):
        start, end = period_bounds(p, now)
        assert start <= now < end
        d = dt.datetime.fromtimestamp(start, dt.timezone.utc)
        assert (d.hour, d.minute) == (0, 0)
        if p == "week":
            assert d.weekday() == 0
        if p == "month":
            assert d.day == 1 and dt.datetime.fromtimestamp(end, dt.timezone.utc).day == 1


_ops = st.lists(st.tuples(st.sampled_from(["admit", "settle", "tick"]), st.integers(1, 40), st.integers(0, 40)),
                max_size=60)


@settings(max_examples=150, deadline=None)
@given(_ops)
def test_quota_never_overspends(ops):
    """Any interleaving of admissions, settlements (actual ≤ reserved) and time passing (with
    live leases renewed) keeps used + reserved within the limit, and used equals what was settled.
    (A lease left to expire belongs to a dead replica: nothing settles it.)"""
    clock = Clock()
    store = MemoryLimitStore(clock=clock)
    limit, open_leases, settled = 100, {}, 0

    async def run():
        nonlocal settled
        for n, (op, amount, actual) in enumerate(ops):
            if op == "admit":
                a = await store.admit(f"l{n}", [Quota("q", limit, amount, "month")], 30)
                if a.ok:
                    open_leases[f"l{n}"] = (amount, a.keys[0])
            elif op == "settle" and open_leases:
                lid, (amt, key) = open_leases.popitem()
                act = min(actual, amt)
                await store.settle(lid, [SettleItem("quota", key, amt, act)])
                settled += act
            else:  # time passes; live requests renew their leases (as Limits.renew does)
                for lid, (_, key) in open_leases.items():
                    await store.renew(lid, [key], 30)
                clock.t += min(amount, 29)
            for q in store._quotas.values():
                assert q.used + q.reserved <= limit
                assert q.used == settled
    asyncio.run(run())


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 50), st.lists(st.tuples(st.integers(1, 5), st.floats(0, 3)), max_size=80))
def test_bucket_never_admits_more_than_capacity_plus_refill(capacity, steps):
    """Requests per minute: over any run, admitted ≤ capacity + capacity × elapsed / 60."""
    clock = Clock()
    store = MemoryLimitStore(clock=clock)
    start, admitted = clock.t, 0

    async def run():
        nonlocal admitted
        for amount, wait in steps:
            clock.t += wait
            if (await store.admit("l", [Bucket("rpm", capacity, amount)], 60)).ok:
                admitted += amount
            assert admitted <= capacity + capacity * (clock.t - start) / 60 + 1e-9
    asyncio.run(run())


async def test_a_settle_does_not_recreate_a_forgotten_spend_counter(store):
    q = Quota("L|cost|key|z|*|month", 100, 10, "month", Ledger("key", "z", None, "cost"))
    a = await store.admit("l1", [q], 60, init={0: 50})
    assert a.ok
    if isinstance(store, MemoryLimitStore):
        store._quotas.clear()
    else:
        for suffix in ("", ":r", ":e"):
            await store.client.call("DEL", store.prefix + "q:" + a.keys[0] + suffix)
    await store.settle("l1", [SettleItem("quota", a.keys[0], 10, 7, ledger=True)])
    again = await store.admit("l2", [q], 60)
    assert again.need_ledger  # seeded from the ledger again, not restarted at 7
