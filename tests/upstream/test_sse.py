from hypothesis import given, settings
from hypothesis import strategies as st

from wardgate.upstream.sse import SSEEvent, SSEParser, complete_prefix

STREAM = (b"event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
          b": keep-alive comment\n\n"
          b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"h\xc3\xa9\"}}\n\n"
          b"event: ping\ndata: {\"type\": \"ping\"}\n\n"
          b"data: line one\ndata: line two\n\n"
          b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")


def parse_all(chunks):
    p = SSEParser()
    events = []
    for c in chunks:
        events += p.feed(c)
    tail, rest = p.close()
    return events + tail, rest


def test_events_fields_and_raw_bytes():
    events, rest = parse_all([STREAM])
    assert rest == b""
    assert [e.event for e in events] == ["message_start", None, "content_block_delta", "ping", "message", "message_stop"]
    assert events[2].json["delta"]["text"] == "hé"
    assert events[4].data == "line one\nline two"
    assert events[1].data is None  # comment-only block is kept for the relay, with no data
    assert b"".join(e.raw for e in events) == STREAM


def test_crlf_and_cr_line_endings():
    crlf = b"event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\r"
    events, rest = parse_all([crlf])
    assert [(e.event, e.data) for e in events] == [("a", "1"), ("b", "2")]
    assert b"".join(e.raw for e in events) == crlf and rest == b""


def test_cr_at_chunk_end_waits_for_possible_lf():
    events, rest = parse_all([b"event: a\r", b"\ndata: 1\r", b"\n\r", b"\n"])
    assert [(e.event, e.data) for e in events] == [("a", "1")]
    assert rest == b""


def test_unterminated_tail_is_returned_not_dispatched():
    events, rest = parse_all([b"event: a\ndata: 1\n\nevent: b\ndata: {\"ty"])
    assert [e.event for e in events] == ["a"]
    assert rest == b"event: b\ndata: {\"ty"


def test_build_and_with_json():
    ev = SSEEvent.build("content_block_delta", {"type": "content_block_delta", "delta": {"text": "x"}})
    assert ev.raw == b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"x"}}\n\n'
    again = parse_all([ev.with_json({"a": 1}).raw])[0][0]
    assert again.event == "content_block_delta" and again.json == {"a": 1}


def test_invalid_json_data_is_none():
    assert parse_all([b"data: {not json\n\n"])[0][0].json is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_chunking_gives_the_same_events(cuts):
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)])]
    events, rest = parse_all(chunks)
    expected, _ = parse_all([STREAM])
    assert [(e.event, e.data, e.raw) for e in events] == [(e.event, e.data, e.raw) for e in expected]
    assert rest == b""


_event = st.builds(
    lambda name, lines: (f"event: {name}\n" + "".join(f"data: {l}\n" for l in lines) + "\n").encode(),
    st.sampled_from(["message_start", "content_block_delta", "ping", "error", "future_event"]),
    st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
                     max_size=30), min_size=1, max_size=3),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_event, min_size=1, max_size=8), st.data())
def test_generated_streams_roundtrip_and_prefix_cut_is_a_boundary(events, data):
    stream = b"".join(events)
    cut_at = data.draw(st.integers(min_value=0, max_value=len(stream)))
    prefix = stream[:cut_at]
    cut = complete_prefix(prefix)
    # everything before the cut parses into whole events, nothing is left over
    parsed, rest = parse_all([prefix[:cut]])
    assert rest == b""
    assert b"".join(e.raw for e in parsed) == prefix[:cut]
    whole, rest = parse_all([stream])
    assert rest == b"" and b"".join(e.raw for e in whole) == stream
    assert [e.event for e in whole] == [e.split(b"\n", 1)[0][7:].decode() for e in events]


def test_complete_prefix():
    assert complete_prefix(b"") == 0
    assert complete_prefix(b"event: a\ndata: 1\n\nevent: b\nda") == len(b"event: a\ndata: 1\n\n")
    assert complete_prefix(b"event: a\r\ndata: 1\r\n\r\n") == len(b"event: a\r\ndata: 1\r\n\r\n")
    assert complete_prefix(b"data: 1\n") == 0
