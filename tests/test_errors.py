import inspect

import orjson

from wardgate import errors
from wardgate.errors import GuardError, UpstreamUnavailable, WardgateError

ANTHROPIC_TYPES = {"invalid_request_error", "authentication_error", "permission_error", "not_found_error",
                   "request_too_large", "rate_limit_error", "api_error", "overloaded_error"}


def test_every_error_has_a_status_an_anthropic_type_and_a_stable_code():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, WardgateError)]
    assert len(classes) >= 14
    codes = set()
    for cls in classes:
        assert cls.error_type in ANTHROPIC_TYPES, cls
        assert "." in cls.code and cls.code == cls.code.lower(), cls
        assert cls.__name__ in errors.__doc__, f"{cls.__name__} missing from the tree in errors.py"
        codes.add(cls.code)
    assert len(codes) == len(classes)  # codes are unique


def test_render_shape_and_headers():
    err = UpstreamUnavailable(retry_after=2.4)
    assert orjson.loads(err.body("wgreq_1")) == {
        "type": "error", "error": {"type": "overloaded_error", "message": err.message}, "request_id": "wgreq_1"}
    assert dict(err.headers()) == {b"wardgate-error-code": b"upstream.circuit_open", b"retry-after": b"2"}
    assert GuardError().status_code == 503
