from wardgate.limits.usage import Usage, merge_usage, usage_from_message


def test_message_usage_with_ttl_split():
    u = usage_from_message({"usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 7,
                                      "cache_creation_input_tokens": 30,
                                      "cache_creation": {"ephemeral_5m_input_tokens": 10,
                                                         "ephemeral_1h_input_tokens": 20}}})
    assert u == Usage(10, 5, 10, 20, 7)
    assert u.total == 10 + 5 + 30 + 7


def test_stream_deltas_are_cumulative_not_added():
    u = merge_usage(Usage(), {"input_tokens": 100, "output_tokens": 1, "cache_creation_input_tokens": 4})
    u = merge_usage(u, {"output_tokens": 30})
    u = merge_usage(u, {"output_tokens": 75})
    assert u == Usage(100, 75, 4, 0, 0)
    # a final message_delta that repeats input counts replaces them
    assert merge_usage(u, {"input_tokens": 100, "output_tokens": 80}).input_tokens == 100


def test_garbage_is_ignored():
    assert usage_from_message({"usage": "x"}) is None
    assert merge_usage(Usage(1, 2), {"output_tokens": -5, "input_tokens": True}) == Usage(1, 2)


def test_track_stream_reads_only_the_usage_events_from_raw_bytes():
    from wardgate.limits.usage import track_stream
    start = (b'event: message_start\ndata: {"type":"message_start","message":{"usage":'
             b'{"input_tokens":12,"output_tokens":1,"cache_read_input_tokens":3}}}\n\n')
    deltas = (b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"usage"}}\n\n'
              b'event: message_delta\r\ndata:{"type":"message_delta","usage":{"output_tokens":40}}\r\n\r\n')
    u, stopped = track_stream(None, start)
    assert u == Usage(12, 1, 0, 0, 3) and not stopped
    u, stopped = track_stream(u, deltas)
    assert u == Usage(12, 40, 0, 0, 3) and not stopped
    u, stopped = track_stream(u, b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    assert stopped and u.output_tokens == 40
    assert track_stream(u, b'event: ping\ndata: {}\n\n') == (u, False)
    assert track_stream(None, b'event: message_delta\ndata: {not json\n\n') == (None, False)


def test_a_delta_repeating_the_cache_total_keeps_the_ttl_split():
    start = merge_usage(Usage(), {"input_tokens": 5, "cache_creation_input_tokens": 30,
                                  "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 20}})
    later = merge_usage(start, {"output_tokens": 9, "cache_creation_input_tokens": 30})
    assert (later.cache_write_5m_tokens, later.cache_write_1h_tokens) == (10, 20)
    changed = merge_usage(start, {"cache_creation_input_tokens": 40})
    assert (changed.cache_write_5m_tokens, changed.cache_write_1h_tokens) == (40, 0)
