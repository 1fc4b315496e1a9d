"""The SMTP client core, pure tier: what it refuses to send (nothing queued), how it reads
replies fed four ways, and a whole session against the server core with no socket."""

from __future__ import annotations

import pytest

from wirekit.errors import LocalProtocolError, MessageTooLarge, RemoteProtocolError
from wirekit.proto.replies import Reply
from wirekit.proto.smtp import (
    NEED_DATA,
    PAUSED,
    Answer,
    Auth,
    ClientConnection,
    ClientState,
    Close,
    Content,
    Data,
    Hello,
    MailFrom,
    Noop,
    Quit,
    RcptTo,
    Reset,
    ServerConnection,
    ServerSettings,
    StartTLS,
    Verify,
)
from wirekit.testing import FEEDS

EHLO_REPLY = (b"250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
              b"250-SMTPUTF8\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n")


def answers(conn: ClientConnection, data: bytes, split) -> list[Answer]:
    out = []
    for piece in split(data):
        conn.receive_data(piece)
        while (event := conn.next_event()) is not NEED_DATA:
            out.append(event)
    return out


def ready(ehlo_reply: bytes = EHLO_REPLY, **options) -> ClientConnection:
    conn = ClientConnection(**options)
    answers(conn, b"220 mx.test ESMTP\r\n", FEEDS["whole"])
    conn.send(Hello("client.test"))
    assert conn.data_to_send() == b"EHLO client.test\r\n"
    [answer] = answers(conn, ehlo_reply, FEEDS["whole"])
    assert isinstance(answer.command, Hello)
    return conn


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_greeting_and_ehlo_extensions_however_they_arrive(feed):
    conn = ClientConnection()
    [greeting] = answers(conn, b"220-mx.test\r\n220 ESMTP ready\r\n", FEEDS[feed])
    assert greeting == Answer(None, Reply(220, ("mx.test", "ESMTP ready")))
    assert conn.state is ClientState.HELLO
    conn.send(Hello("client.test"))
    assert conn.data_to_send() == b"EHLO client.test\r\n"
    [answer] = answers(conn, EHLO_REPLY, FEEDS[feed])
    assert answer.reply.code == 250
    assert conn.extensions == {"PIPELINING": "", "SIZE": "1000", "8BITMIME": "",
                               "SMTPUTF8": "", "STARTTLS": "", "AUTH": "PLAIN LOGIN"}
    assert conn.max_size == 1000 and conn.supports("starttls")
    assert conn.state is ClientState.READY


def test_a_refused_greeting_closes():
    conn = ClientConnection()
    [answer] = answers(conn, b"554 no service\r\n", FEEDS["whole"])
    assert answer.reply.code == 554 and conn.state is ClientState.CLOSED
    with pytest.raises(LocalProtocolError):
        conn.send(Hello("client.test"))


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_a_pipelined_transaction(feed):
    conn = ready()
    for event in (MailFrom("a@b.c", size=10), RcptTo("d@e.f"), RcptTo("g@h.i"), Data()):
        conn.send(event)
    assert conn.data_to_send() == (b"MAIL FROM:<a@b.c> SIZE=10\r\nRCPT TO:<d@e.f>\r\n"
                                   b"RCPT TO:<g@h.i>\r\nDATA\r\n")
    got = answers(conn, b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no\r\n354 go\r\n",
                  FEEDS[feed])
    assert [(type(a.command), a.reply.code) for a in got] == [
        (MailFrom, 250), (RcptTo, 250), (RcptTo, 550), (Data, 354)]
    assert conn.state is ClientState.CONTENT
    conn.send(Content(b"Subject: x\n\n.hidden\r\n.\nend"))
    assert conn.data_to_send() == b"Subject: x\r\n\r\n..hidden\r\n..\r\nend\r\n.\r\n"
    [done] = answers(conn, b"250 2.0.0 queued\r\n", FEEDS[feed])
    assert done.reply.enhanced == "2.0.0" and conn.state is ClientState.READY


def test_quit_is_pipelined_behind_the_final_dot_as_in_rfc_2920_section_4():
    conn = ready()
    for event in (MailFrom("a@b.c"), RcptTo("d@e.f"), Data()):
        conn.send(event)
    conn.data_to_send()
    answers(conn, b"250 ok\r\n250 ok\r\n354 go\r\n", FEEDS["whole"])
    conn.send(Content(b"hi"))
    conn.send(Quit())
    assert conn.data_to_send() == b"hi\r\n.\r\nQUIT\r\n"
    got = answers(conn, b"554 5.7.1 refused\r\n221 bye\r\n", FEEDS["whole"])
    assert [(type(a.command), a.reply.code) for a in got] == [(Content, 554), (Quit, 221)]
    assert conn.state is ClientState.CLOSED


def test_without_pipelining_each_command_waits_for_its_reply():
    conn = ready(b"250 mx.test\r\n")
    conn.send(MailFrom("a@b.c"))
    with pytest.raises(LocalProtocolError, match="before the reply"):
        conn.send(RcptTo("d@e.f"))
    assert conn.data_to_send() == b"MAIL FROM:<a@b.c>\r\n"


def test_barriers_wait_even_with_pipelining():
    conn = ready()
    conn.send(Noop())
    with pytest.raises(LocalProtocolError):
        conn.send(MailFrom("a@b.c"))


@pytest.mark.parametrize("event", [
    MailFrom("a@b.c>\r\nRCPT TO:<evil@x.y"),
    MailFrom("a@b.c\nRCPT TO:<evil@x.y>"),
    MailFrom("a@b.c> SIZE=1"),
    MailFrom("<a@b.c>"),
    MailFrom("nodomain"),
    RcptTo("d@e.f\r\nDATA"),
    RcptTo(""),
    RcptTo("jösé@e.f"),  # UTF-8 without SMTPUTF8 on the MAIL
    MailFrom("jösé@e.f"),
    MailFrom("a@b.c", body="BINARYMIME"),
    Hello("x\r\nMAIL FROM:<a@b.c>"),
    Verify("root\r\nDATA"),
])
def test_injection_and_bad_addresses_are_refused_before_anything_is_queued(event):
    conn = ready()
    if isinstance(event, RcptTo):
        conn.send(MailFrom("a@b.c"))
        conn.data_to_send()
    if isinstance(event, Hello):
        conn = ClientConnection()
        answers(conn, b"220 ok\r\n", FEEDS["whole"])
    with pytest.raises(LocalProtocolError):
        conn.send(event)
    assert conn.data_to_send() == b""


def test_extensions_the_server_did_not_offer_are_not_used():
    conn = ready(b"250 mx.test\r\n")
    for event in (MailFrom("a@b.c", size=1), MailFrom("a@b.c", body="8BITMIME"),
                  MailFrom("jösé@b.c", smtputf8=True)):
        with pytest.raises(LocalProtocolError, match="did not offer"):
            conn.send(event)


def test_smtputf8_addresses_when_offered():
    conn = ready()
    conn.send(MailFrom("jösé@exämple.org", smtputf8=True, body="8BITMIME"))
    conn.send(RcptTo("ñandú@exämple.org"))
    assert conn.data_to_send() == ("MAIL FROM:<jösé@exämple.org> BODY=8BITMIME SMTPUTF8\r\n"
                                   "RCPT TO:<ñandú@exämple.org>\r\n").encode()


def test_auth_is_refused_in_the_clear_unless_allowed():
    conn = ready()
    with pytest.raises(LocalProtocolError, match="without TLS"):
        conn.send(Auth("PLAIN", "alice", "secret"))
    assert conn.data_to_send() == b""
    conn = ready(allow_cleartext_auth=True)
    conn.send(Auth("PLAIN", "alice", "secret"))
    assert conn.data_to_send() == b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_auth_login_answers_the_challenges_itself(feed):
    conn = ready(tls=True)
    conn.send(Auth("LOGIN", "alice", "secret"))
    assert conn.data_to_send() == b"AUTH LOGIN\r\n"
    assert answers(conn, b"334 VXNlcm5hbWU6\r\n", FEEDS[feed]) == []
    assert conn.data_to_send() == b"YWxpY2U=\r\n"
    assert answers(conn, b"334 UGFzc3dvcmQ6\r\n", FEEDS[feed]) == []
    assert conn.data_to_send() == b"c2VjcmV0\r\n"
    [done] = answers(conn, b"235 2.7.0 ok\r\n", FEEDS[feed])
    assert done.reply.code == 235
    # a server asking for more than LOGIN has: the client cancels
    conn.send(Auth("LOGIN", "a", "b"))
    conn.data_to_send()
    answers(conn, b"334 x\r\n334 y\r\n334 z\r\n", FEEDS[feed])
    assert conn.data_to_send() == b"YQ==\r\nYg==\r\n*\r\n"


def test_plaintext_behind_the_starttls_220_is_an_injection():
    """SECURITY.md M02: ``220 go\\r\\n250 injected\\r\\n`` in one segment."""
    conn = ready()
    conn.send(StartTLS())
    conn.data_to_send()
    conn.receive_data(b"220 go ahead\r\n250 injected\r\n")
    with pytest.raises(RemoteProtocolError, match="injection"):
        conn.next_event()


def test_starttls_then_hello_again_and_the_old_extensions_are_forgotten():
    conn = ready()
    conn.send(StartTLS())
    assert conn.data_to_send() == b"STARTTLS\r\n"
    [answer] = answers(conn, b"220 2.0.0 go\r\n", FEEDS["whole"])
    assert answer.reply.code == 220
    assert conn.state is ClientState.TLS
    with pytest.raises(LocalProtocolError):
        conn.send(MailFrom("a@b.c"))
    conn.tls_started()
    assert conn.extensions == {} and conn.tls and conn.state is ClientState.HELLO


def test_a_refused_starttls_stays_in_the_clear():
    conn = ready()
    conn.send(StartTLS())
    answers(conn, b"454 4.7.0 TLS not available\r\n", FEEDS["whole"])
    assert conn.state is ClientState.READY and not conn.tls


def test_replies_nobody_asked_for():
    conn = ready()
    conn.receive_data(b"250 surprise\r\n")
    with pytest.raises(RemoteProtocolError, match="nobody asked"):
        conn.next_event()
    conn = ready()
    [answer] = answers(conn, b"421 4.3.2 shutting down\r\n", FEEDS["whole"])
    assert answer.command is None and conn.state is ClientState.CLOSED


def test_endless_continuation_and_eof():
    conn = ready()
    conn.send(Noop())
    conn.receive_data(b"250-x\r\n" * 101)
    with pytest.raises(MessageTooLarge):
        conn.next_event()
    conn = ready()
    conn.receive_data(b"")
    assert conn.next_event() == Close("the server closed the connection")


def test_a_refused_sender_with_nothing_in_flight_returns_to_ready():
    conn = ready()
    conn.send(MailFrom("a@b.c"))
    answers(conn, b"550 no\r\n", FEEDS["whole"])
    assert conn.state is ClientState.READY
    conn.send(MailFrom("a@b.c"))  # may try again
    conn.send(RcptTo("d@e.f"))
    conn.send(Reset())
    assert conn.data_to_send().endswith(b"RSET\r\n")


def test_content_lines_over_1000_octets_are_refused():
    conn = ready()
    for event in (MailFrom("a@b.c"), RcptTo("d@e.f"), Data()):
        conn.send(event)
    answers(conn, b"250 ok\r\n250 ok\r\n354 go\r\n", FEEDS["whole"])
    conn.data_to_send()
    with pytest.raises(LocalProtocolError, match="longer than 1000"):
        conn.send(Content(b"x" * 999 + b"\r\n"))
    conn.send(Content(b"x" * 998))
    assert conn.data_to_send() == b"x" * 998 + b"\r\n.\r\n"


# -- both cores, no socket ------------------------------------------------------------------
def converse(split, client: ClientConnection, server: ServerConnection, commands):
    """Send each group of commands, carry bytes both ways (cut by ``split``), let the server
    accept every decision; the client's answers in order (the server's contents are
    appended to ``server.received``)."""
    got: list[Answer] = []
    server.received = []  # type: ignore[attr-defined]

    def carry():
        for piece in split(server.data_to_send()):
            client.receive_data(piece)
            while (event := client.next_event()) is not NEED_DATA:
                got.append(event)

    carry()
    for group in commands:
        for command in group:
            client.send(command)
        while (data := client.data_to_send()) or client.waiting:
            for piece in split(data):
                server.receive_data(piece)
                while (event := server.next_event()) not in (NEED_DATA, PAUSED):
                    if isinstance(event, (MailFrom, RcptTo, Content, Auth)):
                        server.accept()
                    if isinstance(event, Content):
                        server.received.append(event)  # type: ignore[attr-defined]
            carry()
    return got


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_client_and_server_cores_talk(feed):
    client = ClientConnection(allow_cleartext_auth=True)
    server = ServerConnection(ServerSettings(auth_mechanisms=("LOGIN",),
                                             allow_cleartext_auth=True))
    message = "Subject: héllo\r\n\r\n.first\r\n..second\r\nthird".encode()
    got = converse(FEEDS[feed], client, server, [
        [Hello("client.test")],
        [Auth("LOGIN", "alice", "s3cret")],
        [MailFrom("jösé@b.c", smtputf8=True, body="8BITMIME"), RcptTo("d@e.f"), Data()],
        [Content(message)],
        [Quit()],
    ])
    assert [a.reply.code for a in got] == [220, 250, 235, 250, 250, 354, 250, 221]
    assert server.authenticated == "alice"
    [content] = server.received
    assert content.data == message + b"\r\n"
    assert content.mail == MailFrom("jösé@b.c", body="8BITMIME", smtputf8=True)
    assert client.state is ClientState.CLOSED
