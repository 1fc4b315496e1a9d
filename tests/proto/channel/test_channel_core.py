"""The channel core, pure tier: framing fed whole, byte by byte, at random splits and at every
CR/LF; the handshake between two cores and against hand-made legacy peers; and the bounds that
keep an unauthenticated peer from making the core hold or decode anything (SECURITY.md R01,
R02)."""

from __future__ import annotations

import hmac
import os
import struct

import pytest

from wirekit.errors import (
    AuthenticationError,
    IncompleteRead,
    LocalProtocolError,
    MessageTooLarge,
    RemoteProtocolError,
)
from wirekit.proto.channel import (
    AUTHENTICATED,
    CLOSED,
    NEED_DATA,
    ChannelConnection,
    ChannelState,
    Message,
    frame,
)
from wirekit.proto.channel.handshake import CHALLENGE, FAILURE, WELCOME, respond, verify
from wirekit.testing import FEEDS

KEY = b"the shared secret"


def events(core: ChannelConnection, pieces: list[bytes]) -> list[object]:
    found: list[object] = []
    for piece in pieces:
        core.receive_data(piece)
        while (event := core.next_event()) is not NEED_DATA:
            found.append(event)
    return found


@pytest.mark.parametrize("feed", FEEDS.values(), ids=FEEDS.keys())
def test_frames_come_out_whatever_the_cuts(feed):
    messages = [b"", b"hello", b"\r\n\r\n", b"x" * 70_000, bytes(range(256)) * 3]
    wire = b"".join(frame(m) for m in messages)
    core = ChannelConnection(accepting=True)
    assert [bytes(e.payload) for e in events(core, feed(wire))] == messages
    core.receive_data(b"")
    assert core.next_event() is CLOSED


def test_the_long_length_form_is_read():
    """-1 then an 8-byte length: what CPython sends for 2 GiB and more; any size must read."""
    core = ChannelConnection(accepting=True)
    core.receive_data(struct.pack("!iQ", -1, 5) + b"hello")
    assert core.next_event() == Message(b"hello")


@pytest.mark.parametrize("prefix", [struct.pack("!i", -2), struct.pack("!i", -(2**31))])
def test_a_negative_length_is_a_protocol_error(prefix):
    core = ChannelConnection(accepting=True)
    core.receive_data(prefix)
    with pytest.raises(RemoteProtocolError):
        core.next_event()


def test_a_frame_above_max_message_is_refused_from_its_prefix():
    core = ChannelConnection(accepting=True, max_message=1000)
    core.receive_data(struct.pack("!i", 1001))  # nothing of the payload has come
    with pytest.raises(MessageTooLarge):
        core.next_event()
    huge = ChannelConnection(accepting=True)
    huge.receive_data(struct.pack("!iQ", -1, 2**62))
    with pytest.raises(MessageTooLarge):
        huge.next_event()


def test_a_whole_frame_above_max_message_is_refused_too():
    """Everything buffered at once (the reader's shortcut for whole small frames) is bound
    by the same limit as a frame that arrives in pieces."""
    core = ChannelConnection(accepting=True, max_message=10)
    core.receive_data(frame(b"x" * 10) + frame(b"y" * 11))
    assert core.next_event() == Message(b"x" * 10)
    with pytest.raises(MessageTooLarge):
        core.next_event()


def test_eof_in_the_middle_of_a_frame_is_an_incomplete_read():
    for partial in (b"\x00\x00", frame(b"hello")[:-2], frame(b"y" * 100_000)[:-1]):
        core = ChannelConnection(accepting=True)
        core.receive_data(partial)
        assert core.next_event() is NEED_DATA
        core.receive_data(b"")
        with pytest.raises(IncompleteRead):
            core.next_event()


def test_the_needed_hint_counts_what_is_missing():
    core = ChannelConnection(accepting=True)
    core.receive_data(frame(b"z" * 100_000)[:50_004])
    assert core.next_event() is NEED_DATA
    assert core.needed == 50_000


def test_sending_frames_and_refusing_before_the_handshake():
    assert frame(b"abc") == b"\x00\x00\x00\x03abc"
    core = ChannelConnection(accepting=False, authkey=KEY, nonce=os.urandom(40))
    with pytest.raises(LocalProtocolError):
        core.send(b"too early")


def pump(a: ChannelConnection, b: ChannelConnection, cut=FEEDS["whole"]) -> tuple[list, list]:
    """Move bytes between two cores until neither has anything to say."""
    seen_a: list[object] = []
    seen_b: list[object] = []
    for _ in range(10):
        out_a, out_b = a.data_to_send(), b.data_to_send()
        if not out_a and not out_b:
            break
        seen_b += events(b, cut(out_a))
        seen_a += events(a, cut(out_b))
        seen_b += events(b, [])
        seen_a += events(a, [])
    return seen_a, seen_b


@pytest.mark.parametrize("feed", FEEDS.values(), ids=FEEDS.keys())
def test_two_cores_authenticate_each_other_with_sha256(feed):
    server = ChannelConnection(True, KEY, nonce=os.urandom(40))
    client = ChannelConnection(False, KEY, nonce=os.urandom(40))
    first = server.data_to_send()
    assert first[4:].startswith(CHALLENGE + b"{sha256}")
    events(client, feed(first))
    server_events, client_events = pump(server, client, feed)
    assert server_events == [AUTHENTICATED]
    assert client_events == [AUTHENTICATED]
    assert server.state is client.state is ChannelState.OPEN
    events(server, [client.send(b"after")])
    server.receive_data(client.send(b"one") + client.send(b"two"))
    assert [server.next_event(), server.next_event()] == [Message(b"one"), Message(b"two")]


def test_a_wrong_key_gets_failure_and_nothing_further_is_read():
    server = ChannelConnection(True, KEY, nonce=os.urandom(40))
    client = ChannelConnection(False, b"wrong key", nonce=os.urandom(40))
    events(client, [server.data_to_send()])
    answer = client.data_to_send()
    with pytest.raises(AuthenticationError):
        events(server, [answer + frame(b"a payload that must never be seen")])
    assert server.data_to_send() == frame(FAILURE)
    assert server.state is ChannelState.CLOSED
    with pytest.raises(AuthenticationError):
        events(client, [frame(FAILURE)])


def test_a_handshake_frame_above_256_bytes_is_refused_unread():
    server = ChannelConnection(True, KEY, nonce=os.urandom(40))
    server.receive_data(struct.pack("!i", 257))
    with pytest.raises(MessageTooLarge):
        server.next_event()
    for prefix in (struct.pack("!i", 0x7FFFFFFF), struct.pack("!iQ", -1, 2**40)):
        fresh = ChannelConnection(True, KEY, nonce=os.urandom(40))
        fresh.receive_data(prefix)
        with pytest.raises(MessageTooLarge):
            fresh.next_event()


def test_eof_during_the_handshake_is_an_authentication_error():
    server = ChannelConnection(True, KEY, nonce=os.urandom(40))
    server.receive_data(b"")
    with pytest.raises(AuthenticationError):
        server.next_event()


def test_a_replayed_response_fails_on_a_new_nonce():
    first = ChannelConnection(True, KEY, nonce=os.urandom(40))
    challenge = first.data_to_send()[4:]
    captured = respond(KEY, challenge)
    verify(KEY, challenge, captured)  # right for the connection it was made for
    second = ChannelConnection(True, KEY, nonce=os.urandom(40))
    second.data_to_send()
    with pytest.raises(AuthenticationError):
        events(second, [frame(captured)])


def test_reflecting_the_servers_own_challenge_fails():
    server = ChannelConnection(True, KEY, nonce=os.urandom(40))
    challenge = server.data_to_send()[4:]
    with pytest.raises(AuthenticationError):
        events(server, [frame(challenge)])  # sent back as if it were an answer


# -- the legacy (Python <= 3.11) handshake, by hand -----------------------------------------

def test_a_legacy_server_is_answered_with_a_bare_hmac_md5():
    client = ChannelConnection(False, KEY, nonce=os.urandom(40))
    nonce = os.urandom(20)
    events(client, [frame(CHALLENGE + nonce)])
    assert client.data_to_send() == frame(hmac.new(KEY, nonce, "md5").digest())
    events(client, [frame(WELCOME)])
    ours = client.data_to_send()[4:]
    assert ours.startswith(CHALLENGE + b"{sha256}")
    legacy_answer = hmac.new(KEY, ours[len(CHALLENGE):], "md5").digest()
    assert events(client, [frame(legacy_answer)]) == [AUTHENTICATED]
    assert client.data_to_send() == frame(WELCOME)


def test_a_legacy_client_answer_is_accepted_unless_md5_is_refused():
    for allow_md5 in (True, False):
        server = ChannelConnection(True, KEY, nonce=os.urandom(40), allow_md5=allow_md5)
        message = server.data_to_send()[4 + len(CHALLENGE):]
        answer = frame(hmac.new(KEY, message, "md5").digest())
        if allow_md5:
            assert events(server, [answer]) == []
            assert server.data_to_send() == frame(WELCOME)
        else:
            with pytest.raises(AuthenticationError):
                events(server, [answer])


def test_an_unknown_digest_is_refused():
    client = ChannelConnection(False, KEY, nonce=os.urandom(40))
    with pytest.raises(AuthenticationError):
        events(client, [frame(CHALLENGE + b"{crc32}" + os.urandom(40))])
    with pytest.raises(AuthenticationError):
        events(ChannelConnection(False, KEY, nonce=os.urandom(40)),
               [frame(b"#HELLO#" + os.urandom(40))])


def test_no_authkey_means_no_handshake():
    core = ChannelConnection(accepting=True)
    assert core.state is ChannelState.OPEN
    assert core.data_to_send() == b""


def test_a_recycled_payload_buffer_takes_the_next_large_message():
    """A shell that has decoded a large payload gives its buffer back; the next large message
    is read into it (no new megabyte per message), and its bytes are the new message's."""
    core = ChannelConnection(False, None)
    first, second = b"a" * (1 << 20), b"b" * ((1 << 20) - 7)

    def deliver(payload: bytes):
        data = frame(payload)
        for start in range(0, len(data), 65536):  # as a socket hands it over
            core.receive_data(data[start:start + 65536])
            event = core.next_event()
        return event.payload

    one = deliver(first)
    assert one == first and type(one) is bytearray
    core.recycle(one)
    two = deliver(second)
    assert two is one and two == second  # the same buffer, holding the new bytes
    three = deliver(first)  # not recycled: a new buffer, the old payload untouched
    assert three is not two and three == first and two == second
