"""The session's output structures on their own: the output log, the expect buffer, flow control, the query scanner."""

import re

from hypothesis import given
from hypothesis import strategies as st

from conpty_widget.output import ExpectBuffer, FlowControl, OutputLog
from conpty_widget.screen import QueryScanner


def test_the_log_returns_output_since_an_offset_with_the_sizes_in_force():
    log = OutputLog(24, 80, keep=1000)
    log.append(b"hello ")
    log.resize(30, 100)
    log.append(b"world")
    assert log.end == 11
    assert log.since(0) == (0, b"hello world", [(0, 24, 80), (6, 30, 100)])
    assert log.since(8) == (8, b"rld", [(6, 30, 100)])
    assert log.since(11) == (11, b"", [(6, 30, 100)])


def test_the_log_keeps_at_least_keep_bytes_in_whole_reads():
    log = OutputLog(24, 80, keep=10)
    for part in (b"aaaa", b"bbbb", b"cccc", b"dddd"):
        log.append(part)
    start, data, _ = log.since(0)
    assert (start, data) == (4, b"bbbbccccdddd")  # 8 bytes would be less than keep
    assert log.since(14) == (14, b"dd", [(0, 24, 80)])


@given(st.lists(st.binary(max_size=50), max_size=30), st.integers(1, 200), st.integers(0, 2000))
def test_the_log_is_the_stream_s_suffix(parts, keep, offset):
    log = OutputLog(24, 80, keep=keep)
    for part in parts:
        log.append(part)
    stream = b"".join(parts)
    start, data, _ = log.since(offset)
    assert start + len(data) == len(stream) == log.end
    assert data == stream[start:]
    assert start == min(offset, len(stream)) or len(stream) - start >= keep


def test_expect_consumes_through_the_match_and_decodes_split_characters():
    buf = ExpectBuffer(limit=1000)
    snowman = "☃".encode()
    buf.feed(b"one " + snowman[:1])
    assert buf.search(re.compile("☃")) is None
    buf.feed(snowman[1:] + b" two")
    assert buf.search(re.compile("☃")).group() == "☃"
    assert buf.search(re.compile("one")) is None  # consumed
    assert buf.tail() == " two"


def test_expect_keeps_a_bounded_tail():
    buf = ExpectBuffer(limit=100)
    buf.feed(b"x" * 1000 + b"END")
    assert buf.search(re.compile("y")) is None
    assert len(buf.tail(10_000)) == 100 and buf.tail(3) == "END"


def test_a_final_search_decodes_an_incomplete_character():
    buf = ExpectBuffer(limit=100)
    buf.feed(b"bye \xe2\x98")
    assert buf.search(re.compile("\ufffd")) is None
    assert buf.search(re.compile("\ufffd"), final=True) is not None


def test_queries_split_across_reads_are_found_once():
    scanner = QueryScanner()
    assert scanner.scan(b"ab\x1b[6", 0) == []
    assert scanner.scan(b"n cd \x1b[c", 5) == [(b"\x1b[6n", 6), (b"\x1b[c", 13)]
    assert scanner.scan(b"", 13) == []
    scanner.skip()
    assert scanner.scan(b"5n", 13) == []  # what a view answered does not join the next read


def flow(window=100, readahead=50, chunk_max=40, flood_bytes=30, direct_max=10) -> FlowControl:
    return FlowControl(window, readahead, chunk_max, flood_bytes, direct_max)


def test_chunks_are_numbered_and_addressed_and_stay_within_the_window():
    f = flow()
    f.read(b"a" * 90)
    assert f.cut(viewed=True) == ({"type": "output", "seq": 1, "offset": 0}, b"a" * 40)  # chunk_max
    assert f.cut(viewed=True) == ({"type": "output", "seq": 2, "offset": 40}, b"a" * 40)
    f.read(b"b" * 30)
    msg, chunk = f.cut(viewed=True)
    assert (msg["seq"], msg["offset"], chunk) == (3, 80, b"a" * 10 + b"b" * 10)  # the window is full
    assert f.room(viewed=True) == 0 and f.cut(viewed=True) is None
    assert f.cut(viewed=True, windowed=False) == ({"type": "output", "seq": 4, "offset": 100}, b"b" * 20)
    assert f.cut(viewed=True, windowed=False) is None  # nothing left


def test_an_ack_opens_the_window_but_never_past_what_was_sent():
    f = flow()
    f.read(b"x" * 40)
    f.cut(viewed=True)
    f.ack(25)
    assert f.room(viewed=True) == 85
    f.ack(10)  # an older ack (another view) takes nothing back
    assert f.acked == 25
    f.ack(10_000)  # a view cannot acknowledge what was not sent
    assert f.acked == 40 and f.room(viewed=True) == 100


def test_with_no_view_nothing_waits_for_acks_and_reading_never_stops():
    f = flow()
    for _ in range(5):
        f.read(b"z" * 40)
        assert not f.full(viewed=False)
        assert f.cut(viewed=False) is not None
    assert f.room(viewed=False) == 100 and f.acked == 0


def test_a_new_view_starts_at_the_current_point_with_everything_before_acknowledged():
    f = flow()
    f.read(b"y" * 60)
    f.cut(viewed=True)
    assert f.reset() == (1, 40)
    assert f.acked == 40 and f.room(viewed=True) == 100


def test_the_read_ahead_fills_and_a_big_chunk_means_a_flood_until_little_comes():
    f = flow()
    f.read(b"f" * 49)
    assert not f.full(viewed=True)
    f.read(b"f")
    assert f.full(viewed=True)
    assert not f.flood
    f.cut(viewed=True)  # 40 bytes >= flood_bytes
    assert f.flood
    f.settle(viewed=True)  # 10 bytes left: the flood is over
    assert not f.flood


def test_only_few_bytes_with_nothing_else_waiting_go_out_at_once():
    f = flow()
    f.read(b"e" * 3)
    assert f.at_once(viewed=True, read=3)
    assert not f.at_once(viewed=False, read=3)  # no view: nothing to send
    f.read(b"e" * 2)
    assert not f.at_once(viewed=True, read=2)  # older output waits: it goes first, from the sender
    g = flow()
    g.read(b"e" * 10)
    assert not g.at_once(viewed=True, read=10)  # direct_max
    h = flow()
    h.flood = True
    h.read(b"e")
    assert not h.at_once(viewed=True, read=1)  # in a flood the sender batches
