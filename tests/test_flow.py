from wardgate.testing import make_flow


def test_untouched_body_is_forwarded_as_received():
    flow = make_flow()
    flow.raw_body = b'{"model" : "m",  "max_tokens":1, "messages":[]}'
    assert flow.upstream_body() == flow.raw_body and not flow.body_changed


def test_replaced_body_is_reserialised():
    flow = make_flow()
    flow.replace_body({"model": "other"})
    assert flow.upstream_body() == b'{"model":"other"}' and flow.body_changed


def test_response_is_parsed_lazily_and_replaced():
    flow = make_flow()
    flow.response_body = b'{"a": 1}'
    assert flow.downstream_body() == b'{"a": 1}'
    doc = flow.response
    doc["a"] = 2
    flow.replace_response(doc)
    assert flow.downstream_body() == b'{"a":2}'


def test_outcome_is_the_first_refusal():
    flow = make_flow()
    flow.decide("a", "a.allowed", "allow")
    flow.decide("b", "b.flagged", "shadow")
    assert flow.outcome == "allow"
    flow.decide("c", "c.denied", "deny")
    flow.decide("d", "d.denied", "deny")
    assert flow.outcome == "c.denied" and flow.stream is False
