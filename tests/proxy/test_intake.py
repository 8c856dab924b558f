import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardgate.errors import InvalidField, InvalidJSON, PayloadTooLarge, UnsupportedMediaType
from wardgate.proxy.intake import MAX_DEPTH, ClientDisconnected, check_content_type, check_fields, parse_json, read_body


@pytest.mark.parametrize("raw, why", [
    (b'{"a": 1,', "malformed"),
    (b'{"a": 1} x', "trailing data"),
    (b'{"a": 1, "a": 2}', "duplicate keys"),
    (b'{"m": {"k": 1, "k": 1}}', "nested duplicate keys"),
    (b'{"a": NaN}', "NaN"),
    (b'{"a": Infinity}', "Infinity"),
    (b'{"a": -Infinity}', "-Infinity"),
    (b'{"a": 1e400}', "float overflow"),
    (b'{"a": 9223372036854775808}', "int above int64"),
    (b'{"a": -9223372036854775809}', "int below int64"),
    (b'{"a": ' + b"9" * 5000 + b"}", "huge integer"),
    (b'{"a": "\xff"}', "invalid UTF-8"),
    (b'{"a": "\xed\xa0\x80"}', "UTF-8 encoded surrogate"),
    (b'{"a": "\\ud800"}', "lone high surrogate"),
    (b'{"a": "\\udc00x"}', "lone low surrogate"),
    (b'{"\\ud800": 1}', "lone surrogate in a key"),
    (b'\xef\xbb\xbf{"a": 1}', "BOM"),
    (b'{"a": "tab\there"}', "raw control character"),
    (b"", "empty"),
])
def test_rejected(raw, why):
    with pytest.raises(InvalidJSON):
        parse_json(raw)


def test_accepts_valid_json_with_surrogate_pairs_and_unicode():
    doc = parse_json(b'{"a": "\\ud83d\\ude00 \xc3\xa9", "n": -9223372036854775808, "f": 1.5e300, "z": null}')
    assert doc == {"a": "\U0001F600 é", "n": -(2**63), "f": 1.5e300, "z": None}


def test_nesting_limit():
    ok = b"[" * (MAX_DEPTH - 1) + b"{}" + b"]" * (MAX_DEPTH - 1)
    parse_json(ok)
    too_deep = b"[" * MAX_DEPTH + b"{}" + b"]" * MAX_DEPTH
    with pytest.raises(InvalidJSON, match="deeper"):
        parse_json(too_deep)
    with pytest.raises(InvalidJSON):
        parse_json(b"[" * 100_000 + b"]" * 100_000)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json_values)
def test_valid_json_roundtrips(value):
    assert parse_json(json.dumps(value, ensure_ascii=False).encode()) == value
    assert parse_json(json.dumps(value, ensure_ascii=True).encode()) == value


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise_anything_but_invalid_json(raw):
    try:
        parse_json(raw)
    except InvalidJSON:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_never_raises_anything_but_invalid_json(text):
    try:
        parse_json(text.encode("utf-8", "surrogatepass"))
    except InvalidJSON:
        pass


@pytest.mark.parametrize("doc, field", [
    ([], "object"),
    ({"messages": []}, "model"),
    ({"model": "m"}, "messages"),
    ({"model": 5, "messages": []}, "model"),
    ({"model": "", "messages": []}, "model"),
    ({"model": "m", "messages": {}}, "messages"),
    ({"model": "m", "messages": [], "max_tokens": "10"}, "max_tokens"),
    ({"model": "m", "messages": [], "max_tokens": True}, "max_tokens"),
    ({"model": "m", "messages": [], "max_tokens": 1.5}, "max_tokens"),
    ({"model": "m", "messages": [], "max_tokens": 0}, "max_tokens"),
    ({"model": "m", "messages": [], "stream": "true"}, "stream"),
    ({"model": "m", "messages": [], "stream": 1}, "stream"),
])
def test_field_types(doc, field):
    with pytest.raises(InvalidField, match=field):
        check_fields(doc, "messages")


def test_count_tokens_does_not_need_max_tokens():
    check_fields({"model": "m", "messages": []}, "count_tokens")


@pytest.mark.parametrize("ctype, ok", [
    (b"application/json", True), (b"application/json; charset=utf-8", True), (b"Application/JSON", True),
    (b"text/plain", False), (b"application/x-www-form-urlencoded", False), (None, False),
    (b"application/json; charset=latin-1", False),
])
def test_content_type(ctype, ok):
    headers = [(b"content-type", ctype)] if ctype else []
    if ok:
        check_content_type(headers)
    else:
        with pytest.raises(UnsupportedMediaType):
            check_content_type(headers)


def _receiver(parts):
    msgs = [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)]

    async def receive():
        return msgs.pop(0) if msgs else {"type": "http.disconnect"}
    return receive


async def test_read_body_limits():
    assert await read_body(_receiver([b"ab", b"cd"]), [], 10) == b"abcd"
    with pytest.raises(PayloadTooLarge):  # declared too large: refused before reading
        await read_body(_receiver([]), [(b"content-length", b"11")], 10)
    with pytest.raises(PayloadTooLarge):  # no Content-Length: counted while streaming
        await read_body(_receiver([b"123456", b"789012"]), [], 10)
    with pytest.raises(ClientDisconnected):
        await read_body(_receiver([]), [], 10)
