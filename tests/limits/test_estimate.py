import base64
import math

from hypothesis import given
from hypothesis import strategies as st

from wardgate.limits.estimate import Calibrator, cache_ttl, estimate_input
from wardgate.upstream.simcontent import estimate_tokens


def test_bound_counts_utf8_bytes_and_allowances():
    e = estimate_input({"messages": [{"role": "user", "content": "héllo"}]})
    assert e.text_bytes == 6 and e.media == 0
    assert e.bound == 6 + e.fixed


def test_every_text_bearing_part_is_counted():
    body = {"system": [{"type": "text", "text": "S" * 10}],
            "tools": [{"name": "t", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "U" * 10},
                                                      {"type": "document", "source": {"type": "text", "data": "D" * 10}}]},
                         {"role": "assistant", "content": [{"type": "tool_use", "id": "x", "name": "t",
                                                            "input": {"q": "Q" * 10}}]},
                         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x",
                                                       "content": [{"type": "text", "text": "R" * 10}]}]}]}
    e = estimate_input(body)
    assert e.text_bytes >= 50
    assert e.fixed >= 600  # the tools prompt allowance


def test_images_and_pdf_pages_are_estimated():
    pdf = base64.b64encode(b"%PDF /Type /Pages /Type /Page x /Type /Page y").decode()
    body = {"messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": pdf}}]}]}
    e = estimate_input(body, image_tokens=1000, pdf_page_tokens=100)
    assert e.media == 1000 + 2 * 100


@given(st.lists(st.text(max_size=200), min_size=1, max_size=8), st.text(max_size=100))
def test_bound_exceeds_the_simulators_count(turns, system):
    """The simulator counts JSON length / 4 (like a real tokenizer, well under one token a byte)."""
    body = {"system": system, "messages": [{"role": "user", "content": t} for t in turns]}
    sim = estimate_tokens(body.get("system"), body["messages"], None)
    assert estimate_input(body).bound >= sim


def test_cache_ttl():
    assert cache_ttl({"messages": []}) is None
    assert cache_ttl({"system": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}]}) == "5m"
    assert cache_ttl({"cache_control": {"type": "ephemeral", "ttl": "1h"}}) == "1h"


def test_calibrator_learns_the_upstreams_ratio():
    c = Calibrator(initial=0.3)
    body = {"messages": [{"role": "user", "content": "x" * 4000}]}
    e = estimate_input(body)
    for _ in range(60):
        c.observe("m", e, e.fixed + 1000)  # 4 bytes per token
    assert math.isclose(c.factor("m"), 0.25, rel_tol=0.02)
    assert math.isclose(e.scaled(c.factor("m")), e.fixed + 1000, rel_tol=0.02)
    assert c.factor("other") == 0.3
