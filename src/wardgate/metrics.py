"""Prometheus metrics, one registry per app (so tests can build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
_OVERHEAD_BUCKETS = (.0001, .00025, .0005, .001, .002, .005, .01, .025, .05, .1, .25)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("wardgate_requests_total", "Requests answered",
                                ("route", "status", "decision"), registry=r)
        self.upstream_latency = Histogram("wardgate_upstream_latency_seconds",
                                          "Time waiting for the upstream (headers, and body when not streamed)",
                                          ("route",), buckets=_LATENCY_BUCKETS, registry=r)
        self.overhead = Histogram("wardgate_overhead_seconds",
                                  "Time the gateway itself added to a request", ("route",),
                                  buckets=_OVERHEAD_BUCKETS, registry=r)
        self.in_flight = Gauge("wardgate_in_flight_requests", "Requests being handled", registry=r)
        self.retries = Counter("wardgate_upstream_retries_total", "Upstream retries by reason",
                               ("reason",), registry=r)
        self.fail_open = Counter("wardgate_guard_fail_open_total",
                                 "Guard errors let through because the guard is configured fail_open",
                                 ("guard",), registry=r)
        self.breaker_open = Gauge("wardgate_upstream_breaker_open",
                                  "1 while the upstream circuit breaker is open", registry=r)
        self.disconnects = Counter("wardgate_client_disconnects_total",
                                   "Requests whose client went away before the answer was complete",
                                   ("route",), registry=r)

        self.limits_denied = Counter("wardgate_limits_denied_total",
                                     "Requests refused by a limit, by kind (rpm, tpm, budget, turns...)",
                                     ("limit",), registry=r)
        self.limits_fallback = Counter("wardgate_limits_fallback_total",
                                       "Rate-limit checks served by the local fallback while Redis was down",
                                       registry=r)
        self.limits_store_errors = Counter("wardgate_limits_store_errors_total",
                                           "Limit store operations that failed, by operation",
                                           ("op",), registry=r)
        self.spend = Counter("wardgate_spend_usd_total", "Upstream spend recorded, in USD", ("model",),
                             registry=r)
        self.tokens = Counter("wardgate_tokens_total", "Tokens billed by the upstream, by kind",
                              ("kind",), registry=r)
        self.alerts = Counter("wardgate_alerts_total", "Alert events raised, by kind", ("kind",), registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
