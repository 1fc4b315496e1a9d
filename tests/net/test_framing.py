"""Framers are sans-IO: the same messages come out however the bytes are split."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wirekit.errors import ConfigError, IncompleteRead, LocalProtocolError, MessageTooLarge
from wirekit.net import DelimiterFramer, LengthPrefixFramer, LineFramer, ReceiveBuffer


def feed_in_pieces(framer, data: bytes, cuts: list[int]) -> list[bytes]:
    out, start = [], 0
    for cut in [*sorted(cuts), len(data)]:
        out.extend(framer.feed(data[start:cut]))
        start = cut
    return out


MESSAGES = st.lists(st.binary(max_size=50).filter(lambda m: b"\n" not in m), max_size=20)


@given(MESSAGES, st.lists(st.integers(0, 2000), max_size=30))
def test_line_framer_is_independent_of_how_bytes_are_split(messages, cuts):
    data = b"".join(m + b"\n" for m in messages)
    cuts = [c for c in cuts if c <= len(data)]
    got = feed_in_pieces(LineFramer(max_size=100), data, cuts)
    assert got == [m.removesuffix(b"\r") for m in messages]


@given(st.lists(st.binary(max_size=300), max_size=20), st.lists(st.integers(0, 7000), max_size=30))
def test_length_prefix_framer_is_independent_of_how_bytes_are_split(messages, cuts):
    framer = LengthPrefixFramer(max_size=300)
    data = b"".join(framer.encode(m) for m in messages)
    cuts = [c for c in cuts if c <= len(data)]
    assert feed_in_pieces(LengthPrefixFramer(max_size=300), data, cuts) == messages


def test_one_byte_at_a_time():
    framer = DelimiterFramer(b"\r\n\r\n", max_size=64)
    data = b"first\r\n\r\nsecond\r\n\r\n"
    got = [m for i in range(len(data)) for m in framer.feed(data[i : i + 1])]
    assert got == [b"first", b"second"]


def test_crlf_lines_lose_the_cr():
    assert LineFramer().feed(b"HELO a\r\nQUIT\n") == [b"HELO a", b"QUIT"]


def test_an_oversized_line_is_refused_before_it_is_all_buffered():
    framer = LineFramer(max_size=10)
    framer.feed(b"x" * 10)
    with pytest.raises(MessageTooLarge):
        framer.feed(b"y")


def test_a_line_of_exactly_max_size_is_fine():
    assert LineFramer(max_size=10).feed(b"x" * 10 + b"\n") == [b"x" * 10]


def test_a_huge_length_prefix_is_refused_before_any_payload():
    framer = LengthPrefixFramer(max_size=1024)
    with pytest.raises(MessageTooLarge, match="2147483647"):
        framer.feed(b"\x7f\xff\xff\xff")


def test_close_mid_message_reports_how_much_arrived():
    framer = LengthPrefixFramer()
    framer.feed(framer.encode(b"0123456789")[:7])
    with pytest.raises(IncompleteRead) as info:
        framer.close()
    assert (len(info.value.partial), info.value.expected) == (3, 10)
    line = LineFramer()
    line.feed(b"no newline")
    with pytest.raises(IncompleteRead, match="10 bytes arrived"):
        line.close()
    LineFramer().close()  # nothing pending: a clean close


def test_encode_refuses_what_the_peer_could_not_frame():
    with pytest.raises(LocalProtocolError):
        LineFramer().encode(b"two\nlines")
    with pytest.raises(MessageTooLarge):
        LengthPrefixFramer(max_size=3).encode(b"four")
    with pytest.raises(ConfigError):
        LengthPrefixFramer(prefix_size=3)
    with pytest.raises(ConfigError):
        DelimiterFramer(b"")


def test_delimiter_search_stays_linear_on_a_long_line_fed_byte_by_byte():
    """The scan resumes where it stopped: feeding n bytes one at a time costs O(n), so a
    long line checks the count of bytes examined rather than wall time."""
    buffer = ReceiveBuffer()
    scanned = 0
    for _ in range(20000):
        buffer.feed(b"x")
        scanned += len(buffer) - buffer._scan_from  # bytes the next search will look at
        assert buffer.read_until(b"\r\n", limit=100000) is None
    assert scanned <= 20000 * 2


def test_random_splits_of_mixed_framers_agree():
    rng = random.Random(7)
    messages = [bytes(rng.randrange(256) for _ in range(rng.randrange(100))) for _ in range(50)]
    encoded = b"".join(LengthPrefixFramer(prefix_size=2).encode(m) for m in messages)
    framer, got, i = LengthPrefixFramer(prefix_size=2), [], 0
    while i < len(encoded):
        step = rng.randrange(1, 40)
        got += framer.feed(encoded[i : i + step])
        i += step
    assert got == messages


def test_between_messages_knows_a_length_prefix_alone_is_a_message_in_flight():
    framer = LengthPrefixFramer()
    assert framer.between_messages
    framer.feed(b"\x00\x00\x00\x05")  # the prefix arrived, the payload not yet
    assert framer.pending == 4 and not framer.between_messages  # kept until the frame is whole
    assert framer.feed(b"hello") == [b"hello"]
    assert framer.between_messages
    line = LineFramer()
    line.feed(b"partial")
    assert not line.between_messages
