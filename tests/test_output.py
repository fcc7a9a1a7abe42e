"""The session's output structures on their own: the output log, the expect buffer, the query scanner."""

import re

from hypothesis import given
from hypothesis import strategies as st

from conpty_widget.output import ExpectBuffer, OutputLog
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
