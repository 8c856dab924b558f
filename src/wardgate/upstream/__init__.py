"""Upstream: the HTTP client, retries, circuit breaker, SSE parser and the simulator."""
