"""Model prices and what a request costs, in integer nano-dollars (1e-9 USD).

Counters hold integers so that every replica, and Redis, add up exactly the same amounts:
a price in USD per million tokens is kept as pico-dollars per token (``$3/MTok`` → 3,000,000),
and a cost is rounded up to the next nano-dollar. ``$1,000,000`` is 1e15 nano-dollars, inside
the range a Redis (Lua) number holds exactly.

The shipped table (``prices.yaml``) carries Anthropic's list prices; ``limits.prices`` in
the config overrides or adds models. A model with no price is refused unless
``limits.unknown_model: allow`` (it is then admitted at the ``limits.unknown_model_price``).
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from wardgate.limits.usage import Usage

__all__ = ["Price", "PriceTable", "NANO_PER_USD", "usd", "nano"]

NANO_PER_USD = 1_000_000_000


def usd(nano_amount: int | float) -> float:
    return nano_amount / NANO_PER_USD


def nano(usd_amount: float) -> int:
    return round(usd_amount * NANO_PER_USD)


def _pico(per_mtok: float) -> int:
    return round(per_mtok * 1_000_000)  # USD per million tokens → pico-USD per token


@dataclass(frozen=True, slots=True)
class Rates:
    input: int            # pico-USD per token
    output: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Rates":
        inp = float(doc["input"])
        return cls(_pico(inp), _pico(float(doc["output"])),
                   _pico(float(doc.get("cache_write_5m", inp * 1.25))),
                   _pico(float(doc.get("cache_write_1h", inp * 2.0))),
                   _pico(float(doc.get("cache_read", inp * 0.1))))


@dataclass(frozen=True, slots=True)
class Price:
    model: str
    base: Rates
    long_threshold: int | None = None
    long: Rates | None = None

    def rates_for(self, prompt_tokens: int) -> Rates:
        if self.long is not None and self.long_threshold is not None and prompt_tokens > self.long_threshold:
            return self.long
        return self.base

    def cost(self, u: Usage) -> int:
        """What a response's usage costs, in nano-USD (rounded up)."""
        r = self.rates_for(u.input_tokens + u.cache_read_tokens + u.cache_write_5m_tokens
                           + u.cache_write_1h_tokens)
        pico = (u.input_tokens * r.input + u.output_tokens * r.output
                + u.cache_write_5m_tokens * r.cache_write_5m + u.cache_write_1h_tokens * r.cache_write_1h
                + u.cache_read_tokens * r.cache_read)
        return -(-pico // 1000)

    def worst_case(self, input_tokens: int, max_tokens: int, cache_ttl: str | None) -> int:
        """The most a request can cost: every input token at the dearest input rate the request
        can incur (a cache write when it asks for caching), and ``max_tokens`` of output."""
        r = self.rates_for(input_tokens)
        per_input = r.input
        if cache_ttl == "1h":
            per_input = max(per_input, r.cache_write_1h, r.cache_write_5m)
        elif cache_ttl == "5m":
            per_input = max(per_input, r.cache_write_5m)
        return -(-(input_tokens * per_input + max_tokens * r.output) // 1000)


def _price(model: str, doc: dict[str, Any]) -> Price:
    long = doc.get("long_prompt")
    if long:
        return Price(model, Rates.from_doc(doc), int(long["threshold_tokens"]), Rates.from_doc(long))
    return Price(model, Rates.from_doc(doc))


def shipped_prices() -> dict[str, dict[str, Any]]:
    text = resources.files("wardgate.limits").joinpath("prices.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text)["models"])


class PriceTable:
    """Model id → Price. Exact ids first, then patterns in order (config before shipped)."""

    def __init__(self, overrides: dict[str, dict[str, Any]] | None = None,
                 shipped: dict[str, dict[str, Any]] | None = None) -> None:
        merged = dict(overrides or {})
        for k, v in (shipped_prices() if shipped is None else shipped).items():
            merged.setdefault(k, v)
        self._entries = [(pat, _price(pat, doc)) for pat, doc in merged.items()]
        self._cache: dict[str, Price | None] = {}

    def lookup(self, model: str) -> Price | None:
        if model in self._cache:
            return self._cache[model]
        found = None
        for pat, price in self._entries:
            if pat == model:
                found = price
                break
        if found is None:
            found = next((p for pat, p in self._entries if fnmatch.fnmatchcase(model, pat)), None)
        if len(self._cache) < 10_000:
            self._cache[model] = found
        return found

    @staticmethod
    def fallback(per_mtok_input: float, per_mtok_output: float) -> Price:
        return Price("*", Rates.from_doc({"input": per_mtok_input, "output": per_mtok_output}))


def format_usd(nano_amount: int) -> str:
    """``$12.34`` (cents, rounded down) for messages; sub-cent amounts keep four decimals."""
    dollars = nano_amount / NANO_PER_USD
    if 0 < abs(dollars) < 0.01:
        return f"${math.floor(dollars * 10000) / 10000:.4f}"
    return f"${math.floor(dollars * 100) / 100:.2f}"
