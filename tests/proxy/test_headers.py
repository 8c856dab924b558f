from wardgate.proxy.headers import client_address, downstream_headers, upstream_headers


def raw(*pairs):
    return [(k.encode(), v.encode()) for k, v in pairs]


def test_credentials_cookies_host_hop_by_hop_and_forwarding_headers_are_dropped():
    out = dict(upstream_headers(raw(
        ("host", "gw"), ("x-api-key", "wg_secret"), ("authorization", "Bearer t"), ("cookie", "a=b"),
        ("connection", "keep-alive, x-private"), ("x-private", "1"), ("keep-alive", "5"),
        ("transfer-encoding", "chunked"), ("te", "trailers"), ("upgrade", "h2c"),
        ("proxy-authorization", "Basic x"), ("x-forwarded-for", "1.2.3.4"), ("x-forwarded-host", "evil"),
        ("forwarded", "for=1.2.3.4"), ("x-real-ip", "1.2.3.4"), ("content-length", "10"),
        ("accept-encoding", "gzip"),
        ("anthropic-version", "2023-06-01"), ("anthropic-beta", "tools-2024"), ("content-type", "application/json"),
        ("x-stainless-lang", "python"), ("user-agent", "Anthropic/Python"))))
    assert out == {"anthropic-version": "2023-06-01", "anthropic-beta": "tools-2024",
                   "content-type": "application/json", "x-stainless-lang": "python",
                   "user-agent": "Anthropic/Python", "accept-encoding": "identity"}


def test_downstream_passes_what_clients_use_only():
    out = dict(downstream_headers([
        ("Content-Type", "application/json"), ("request-id", "req_1"), ("anthropic-ratelimit-requests-remaining", "9"),
        ("retry-after", "3"), ("x-should-retry", "true"), ("set-cookie", "a=b"), ("connection", "close"),
        ("server", "cloudflare"), ("content-length", "99"), ("anthropic-organization-id", "org")]))
    assert out == {b"content-type": b"application/json", b"request-id": b"req_1",
                   b"anthropic-ratelimit-requests-remaining": b"9", b"retry-after": b"3",
                   b"x-should-retry": b"true", b"anthropic-organization-id": b"org"}


def test_x_forwarded_for_is_trusted_only_from_a_trusted_proxy():
    scope = {"client": ("10.0.0.5", 1234), "headers": raw(("x-forwarded-for", "6.6.6.6, 203.0.113.9"))}
    assert client_address(scope, frozenset()) == "10.0.0.5"
    assert client_address(scope, frozenset({"10.0.0.5"})) == "203.0.113.9"
    assert client_address({"client": ("198.51.100.1", 1), "headers": scope["headers"]},
                          frozenset({"10.0.0.5"})) == "198.51.100.1"
