"""Numbered replies (SMTP and FTP), pure tier: every vector is fed whole, byte by byte, at
random splits and at every CR/LF, and must parse the same way each time."""

from __future__ import annotations

import pytest

from wirekit.errors import LocalProtocolError, MessageTooLarge, RemoteProtocolError
from wirekit.proto.replies import Reply, ReplyParser, format_reply
from wirekit.testing import FEEDS


def parse_all(data: bytes, split, **options) -> list[Reply]:
    parser = ReplyParser(**options)
    replies: list[Reply] = []
    for piece in split(data):
        parser.receive_data(piece)
        while (reply := parser.next_reply()) is not None:
            replies.append(reply)
    parser.receive_data(b"")
    assert parser.next_reply() is None
    assert parser.closed
    return replies


VALID = {
    "one line": (b"220 mail.example.org ESMTP ready\r\n",
                 [Reply(220, ("mail.example.org ESMTP ready",))]),
    "code alone": (b"250\r\n", [Reply(250, ("",))]),
    "multi-line": (b"250-mail.example.org\r\n250-SIZE 1000\r\n250 PIPELINING\r\n",
                   [Reply(250, ("mail.example.org", "SIZE 1000", "PIPELINING"))]),
    "enhanced": (b"550 5.1.1 no such user\r\n", [Reply(550, ("no such user",), "5.1.1")]),
    "enhanced on every line": (b"250-2.0.0 one\r\n250 2.0.0 two\r\n",
                               [Reply(250, ("one", "two"), "2.0.0")]),
    "enhanced class must match": (b"250 5.1.1 text\r\n", [Reply(250, ("5.1.1 text",))]),
    "two replies (pipelining)": (b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go ahead\r\n",
                                 [Reply(250, ("ok",), "2.1.0"), Reply(250, ("ok",), "2.1.5"),
                                  Reply(354, ("go ahead",))]),
    "utf-8 text (RFC 6531)": ("250 bienvenue, José\r\n".encode(),
                              [Reply(250, ("bienvenue, José",))]),
}


@pytest.mark.parametrize("feed", sorted(FEEDS))
@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_replies_parse_the_same_however_they_arrive(name, feed):
    data, expected = VALID[name]
    assert parse_all(data, FEEDS[feed]) == expected


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_ftp_multi_line_replies_may_hold_any_text_between_first_and_last(feed):
    data = b"211-Features:\r\n MDTM\r\n UTF8\r\n211-still\r\n211 End\r\n"
    [reply] = parse_all(data, FEEDS[feed], ftp=True, enhanced=False)
    assert reply == Reply(211, ("Features:", " MDTM", " UTF8", "still", "End"))


@pytest.mark.parametrize("feed", sorted(FEEDS))
@pytest.mark.parametrize("data", [
    b"25 short\r\n",
    b"650 bad first digit\r\n",
    b"abc nope\r\n",
    b"250x no separator\r\n",
    b"250-first\r\n251 other code\r\n",
    b"250-first\r\n no code in SMTP\r\n250 end\r\n",
    b"250 bare LF\ninside\r\n",
    b"250 bare CR\rinside\r\n",
])
def test_malformed_replies_are_refused_however_they_arrive(data, feed):
    with pytest.raises(RemoteProtocolError):
        parse_all(data, FEEDS[feed])


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_end_of_input_inside_a_reply_is_an_error(feed):
    with pytest.raises(RemoteProtocolError, match="middle of a reply"):
        parse_all(b"250-first\r\n250-sec", FEEDS[feed])


def test_a_long_line_is_refused_once_the_limit_is_passed_not_at_its_end():
    parser = ReplyParser(max_line=100)
    parser.receive_data(b"250 " + b"x" * 96)
    parser.receive_data(b"\r")  # the limit, and maybe the start of its CRLF: still waiting
    assert parser.next_reply() is None
    parser.receive_data(b"y")
    with pytest.raises(MessageTooLarge) as caught:
        parser.next_reply()
    assert caught.value.limit == "max_line"
    with pytest.raises(RemoteProtocolError):  # broken for good
        parser.next_reply()


def test_an_endless_continuation_is_refused_at_max_lines():
    parser = ReplyParser(max_lines=5)
    parser.receive_data(b"250-x\r\n" * 5)
    assert parser.next_reply() is None
    parser.receive_data(b"250-x\r\n")
    with pytest.raises(MessageTooLarge, match="more than 5 lines"):
        parser.next_reply()


def test_a_10_mb_line_is_refused_without_holding_it():
    parser = ReplyParser()
    chunk = b"2" * 65536
    with pytest.raises(MessageTooLarge):
        for _ in range(160):
            parser.receive_data(chunk)
            parser.next_reply()
    assert parser.buffered < 2 * 65536 + 8192


def test_unparsed_bytes_after_a_reply_are_visible_and_can_be_taken():
    """After a STARTTLS 220, plaintext the server sent behind it must be seen (M02)."""
    parser = ReplyParser()
    parser.receive_data(b"220 go ahead\r\n250 injected\r\n")
    assert parser.next_reply() == Reply(220, ("go ahead",))
    assert parser.buffered == len(b"250 injected\r\n")
    assert parser.take_unparsed() == b"250 injected\r\n"
    assert parser.buffered == 0


@pytest.mark.parametrize(("args", "wire"), [
    ((220, "ready"), b"220 ready\r\n"),
    ((250, ["a", "SIZE 10", "PIPELINING"]), b"250-a\r\n250-SIZE 10\r\n250 PIPELINING\r\n"),
    ((550, "no such user", "5.1.1"), b"550 5.1.1 no such user\r\n"),
    ((250, ["one", "two"], "2.0.0"), b"250-2.0.0 one\r\n250 2.0.0 two\r\n"),
    ((221, ""), b"221\r\n"),
    ((250, "caf\u00e9"), "250 caf\u00e9\r\n".encode()),
])
def test_format_reply(args, wire):
    assert format_reply(*args) == wire


@pytest.mark.parametrize("reply", [
    Reply(250, ("mail.example.org", "SIZE 1000", "8BITMIME")),
    Reply(550, ("mailbox unavailable", "try later"), "5.2.1"),
    Reply(354, ("End data with <CR><LF>.<CR><LF>",)),
])
@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_format_and_parse_round_trip(reply, feed):
    assert parse_all(reply.to_bytes(), FEEDS[feed]) == [reply]


@pytest.mark.parametrize(("args", "match"), [
    ((99, "x"), "three digits"),
    ((600, "x"), "three digits"),
    ((250, "a\r\n250 injected"), "CR, LF or NUL"),
    ((250, ["ok", "b\n"]), "CR, LF or NUL"),
    ((250, "nul\x00"), "CR, LF or NUL"),
    ((250, "ok", "5.1.1"), "does not fit"),
    ((250, "ok", "2.1"), "does not fit"),
])
def test_format_reply_refuses_what_would_inject_or_lie(args, match):
    with pytest.raises(LocalProtocolError, match=match):
        format_reply(*args)


def test_reply_helpers():
    reply = Reply(451, ("try", "later"), "4.3.0")
    assert (reply.kind, reply.ok, reply.text) == (4, False, "try\nlater")
    assert str(reply) == "451 4.3.0 try / later"
    assert Reply(250).ok
