from hypothesis import given
from hypothesis import strategies as st

from wardgate.limits.price import NANO_PER_USD, PriceTable, format_usd, nano
from wardgate.limits.usage import Usage


def test_shipped_prices_cover_current_models_and_snapshots():
    t = PriceTable()
    sonnet = t.lookup("claude-sonnet-5-5")
    assert sonnet is not None and sonnet.base.input == 2_000_000 and sonnet.base.output == 10_000_000
    assert t.lookup("claude-sonnet-4-5-20250929").base.input == 3_000_000   # dated snapshot
    assert t.lookup("claude-opus-5-5").base.output == 20_000_000           # not caught by claude-opus-5*
    assert t.lookup("claude-opus-4-1").base.input == 15_000_000
    assert t.lookup("gpt-4o") is None


def test_cost_counts_every_kind_of_token():
    p = PriceTable().lookup("claude-sonnet-5-5")
    u = Usage(input_tokens=1_000_000, output_tokens=1_000_000, cache_write_5m_tokens=1_000_000,
              cache_write_1h_tokens=1_000_000, cache_read_tokens=1_000_000)
    assert p.cost(u) == nano(2 + 10 + 2.5 + 4 + 0.1)
    assert p.cost(Usage(input_tokens=1)) == 2000  # $2/MTok = 2,000 nano-dollars per token


def test_long_prompt_tier_applies_to_every_token_of_the_request():
    p = PriceTable().lookup("claude-haiku-5-5")
    short = p.cost(Usage(input_tokens=100_000, output_tokens=1000))
    long = p.cost(Usage(input_tokens=100_001, output_tokens=1000))
    assert short == nano(0.1 * 0.1 + 0.5 * 0.001)
    assert long == -(-(100_001 * 500_000 + 1000 * 2_500_000) // 1000)


def test_config_overrides_win_and_add_models():
    t = PriceTable({"claude-sonnet-5-5": {"input": 1.0, "output": 2.0}, "my-model": {"input": 5, "output": 5}})
    assert t.lookup("claude-sonnet-5-5").base.output == 2_000_000
    assert t.lookup("claude-sonnet-5-5").base.cache_read == 100_000  # default 0.1x input
    assert t.lookup("my-model") is not None


@given(st.integers(0, 10**7), st.integers(0, 10**6), st.sampled_from([None, "5m", "1h"]))
def test_worst_case_bounds_any_usage_within_the_request(inp, max_tokens, ttl):
    p = PriceTable().lookup("claude-opus-5-5")
    worst = p.worst_case(inp, max_tokens, ttl)
    # any split of the input between plain, cached-read and (if asked) cache-write costs no more
    assert p.cost(Usage(input_tokens=inp, output_tokens=max_tokens)) <= worst
    if ttl == "1h":
        assert p.cost(Usage(cache_write_1h_tokens=inp, output_tokens=max_tokens)) <= worst
    if ttl in ("5m", "1h"):
        assert p.cost(Usage(cache_write_5m_tokens=inp, output_tokens=max_tokens)) <= worst


def test_format_usd():
    assert format_usd(25 * NANO_PER_USD) == "$25.00"
    assert format_usd(1234) == "$0.0000"
    assert format_usd(nano(0.0042)) == "$0.0042"
