"""The SMTP server core, pure tier: each session is fed whole, byte by byte, at random splits
and at every CR/LF, and what the server answers and decides must not depend on the cuts."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from wirekit.errors import ConfigError, LocalProtocolError
from wirekit.proto.smtp import (
    NEED_DATA,
    PAUSED,
    Auth,
    Close,
    Content,
    MailFrom,
    Quit,
    RcptTo,
    ServerConnection,
    ServerSettings,
    ServerState,
    StartTLS,
    Verify,
)
from wirekit.testing import FEEDS

MiB = 1024 * 1024


@dataclass
class Session:
    """What a server core did with one input."""

    replies: list[str] = field(default_factory=list)  # "250 2.1.0" ... (code and enhanced)
    events: list[object] = field(default_factory=list)
    wire: bytes = b""
    conn: ServerConnection | None = None

    def codes(self) -> list[int]:
        return [int(r[:3]) for r in self.replies]


def _replies(wire: bytes) -> list[str]:
    """The last line of each reply, as ``code [enhanced]``."""
    out = []
    for line in wire.split(b"\r\n"):
        if len(line) >= 3 and line[3:4] != b"-":
            parts = line.decode().split(" ")
            enhanced = parts[1] if len(parts) > 1 and parts[1][:1].isdigit() and \
                parts[1].count(".") == 2 else ""
            out.append(f"{parts[0]} {enhanced}".strip())
    return out


DEFAULT = ServerSettings()


def drive(chunks, settings=DEFAULT, *, eof=False, decide=None, tls=False,
          handshake=True) -> Session:
    """Run a server core over ``chunks``; ``decide(event, conn)`` answers decisions
    (default: accept). A STARTTLS is completed at once unless ``handshake`` is False."""
    conn = ServerConnection(settings, tls=tls)
    session = Session(conn=conn)
    wire = bytearray(conn.data_to_send())
    for chunk in [*chunks, *([b""] if eof else [])]:
        conn.receive_data(chunk)
        while (event := conn.next_event()) not in (NEED_DATA, PAUSED):
            session.events.append(event)
            if isinstance(event, (MailFrom, RcptTo, Content, Auth, Verify)):
                (decide or (lambda e, c: c.accept()))(event, conn)
            elif isinstance(event, StartTLS) and handshake:
                wire += conn.data_to_send()
                conn.tls_started()
        wire += conn.data_to_send()
        if conn.state is ServerState.CLOSED:
            break
    session.wire = bytes(wire)
    session.replies = _replies(session.wire)
    return session


def all_ways(data: bytes, **options) -> Session:
    """Drive ``data`` fed the four ways; the wire and the events must be identical."""
    results = {name: drive(split(data), **options) for name, split in FEEDS.items()}
    whole = results["whole"]
    for name, result in results.items():
        assert (result.wire, result.events) == (whole.wire, whole.events), \
            f"feeding {name} changed the outcome"
    return whole


HELLO = b"EHLO client.example.org\r\n"
TRANSACTION = (b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
               b"RCPT TO:<carol@example.org>\r\nDATA\r\n")
MESSAGE = b"Subject: hi\r\n\r\nline one\r\n..a line that starts with a dot\r\n.\r\n"


def test_a_whole_session_however_it_arrives():
    s = all_ways(HELLO + TRANSACTION + MESSAGE + b"QUIT\r\n")
    assert s.replies == ["220", "250", "250 2.1.0", "250 2.1.5", "250 2.1.5", "354",
                         "250 2.0.0", "221 2.0.0"]
    content = next(e for e in s.events if isinstance(e, Content))
    assert content.data == b"Subject: hi\r\n\r\nline one\r\n.a line that starts with a dot\r\n"
    assert content.mail == MailFrom("alice@example.org")
    assert content.recipients == ("bob@example.org", "carol@example.org")
    assert isinstance(s.events[-1], Quit)
    assert s.conn.state is ServerState.CLOSED


def test_ehlo_announces_the_extensions():
    s = drive([HELLO], ServerSettings(hostname="mx.test", max_message=1000))
    ehlo = s.wire.split(b"\r\n", 1)[1]
    assert ehlo.startswith(b"250-mx.test\r\n")
    for keyword in (b"PIPELINING", b"SIZE 1000", b"8BITMIME", b"SMTPUTF8",
                    b"ENHANCEDSTATUSCODES"):
        assert b"250-" + keyword in ehlo or b"250 " + keyword in ehlo
    assert b"STARTTLS" not in ehlo and b"AUTH" not in ehlo


def test_helo_gets_one_line_and_no_extensions():
    s = drive([b"HELO client\r\n"], ServerSettings(hostname="mx.test"))
    assert s.wire.endswith(b"220 mx.test ESMTP wirekit\r\n250 mx.test\r\n")


@pytest.mark.parametrize(("commands", "expected"), [
    (b"MAIL FROM:<a@b.c>\r\n", ["503 5.5.1"]),
    (HELO := HELLO, ["250"]),
    (HELLO + b"RCPT TO:<a@b.c>\r\n", ["250", "503 5.5.1"]),
    (HELLO + b"DATA\r\n", ["250", "503 5.5.1"]),
    (HELLO + b"MAIL FROM:<a@b.c>\r\nDATA\r\n", ["250", "250 2.1.0", "503 5.5.1"]),
    (HELLO + b"MAIL FROM:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\n", ["250", "250 2.1.0", "503 5.5.1"]),
    (b"FROB\r\n", ["500 5.5.2"]),
    (b"\r\n", ["500 5.5.2"]),
    (HELLO + b"RSET now\r\n", ["250", "501 5.5.4"]),
    (b"EHLO\r\n", ["501 5.5.4"]),
    (b"NOOP\r\nHELP\r\n", ["250 2.0.0", "214 2.0.0"]),
])
def test_sequence_and_syntax_errors(commands, expected):
    assert all_ways(commands).replies[1:] == expected


@pytest.mark.parametrize(("mail", "expected"), [
    (b"MAIL FROM:<>", "250 2.1.0"),  # the null sender of bounces
    (b"mail from: <a@b.c>", "250 2.1.0"),  # case and a space after the colon are tolerated
    (b"MAIL FROM:<@relay.example,@other.example:a@b.c>", "250 2.1.0"),  # source route ignored
    (b'MAIL FROM:<"john smith"@b.c>', "250 2.1.0"),
    (b"MAIL FROM:<a@[192.0.2.1]>", "250 2.1.0"),
    (b"MAIL FROM:<a@b.c> BODY=8BITMIME SIZE=100 AUTH=<>", "250 2.1.0"),
    (b"MAIL FROM:a@b.c", "501 5.5.4"),
    (b"MAIL FROM:<a@b.c", "501 5.5.4"),
    (b"MAIL FROM:<a b@c.d>", "501 5.5.4"),
    (b"MAIL FROM:<a@b.c>x", "501 5.5.4"),
    (b"MAIL FROM:<a@b..c>", "501 5.5.4"),
    (b"MAIL FROM:<no-domain>", "501 5.5.4"),
    (b"MAIL FROM:<a@b.c> SIZE=x", "501 5.5.4"),
    (b"MAIL FROM:<a@b.c> BODY=BINARYMIME", "501 5.5.4"),
    (b"MAIL FROM:<a@b.c> SIZE=1 SIZE=2", "501 5.5.4"),
    (b"MAIL FROM:<a@b.c> NOTIFY=NEVER", "555 5.5.4"),
    (b"MAIL FROM:<a@b.c> SIZE=999999999999", "552 5.3.4"),
    ("MAIL FROM:<jösé@exämple.org>".encode(), "553 5.6.7"),
    ("MAIL FROM:<jösé@exämple.org> SMTPUTF8".encode(), "250 2.1.0"),
    (b"MAIL FROM:<\xff@b.c>", "500 5.5.2"),
    (b"MAIL FROM:<a@b.c>\x00", "500 5.5.2"),
    (b"MAIL TO:<a@b.c>", "501 5.5.4"),
])
def test_mail_from_syntax_and_parameters(mail, expected):
    assert all_ways(HELLO + mail + b"\r\n").replies[2:] == [expected]


@pytest.mark.parametrize(("rcpt", "expected"), [
    (b"RCPT TO:<postmaster>", "250 2.1.5"),
    (b"RCPT TO:<>", "501 5.5.4"),
    (b"RCPT TO:<a@b.c> NOTIFY=NEVER", "555 5.5.4"),
    ("RCPT TO:<jösé@b.c>".encode(), "553 5.6.7"),
    (b"RCPT TO:<a@b.c>\r\nRCPT TO:<a@b.c>\r\n", "250 2.1.5"),
])
def test_rcpt_to_syntax(rcpt, expected):
    s = all_ways(HELLO + b"MAIL FROM:<a@b.c>\r\n" + rcpt + b"\r\n")
    assert s.replies[3] == expected


def test_an_address_carrying_a_second_command_is_one_refused_command():
    """Injection inside an address (SECURITY.md M03) cannot become a command: the line is
    refused whole, and what follows it in the same line is never read as RCPT."""
    s = all_ways(HELLO + b"MAIL FROM:<a@b.c>\r\nRCPT TO:<x@y.z>\rRCPT TO:<evil@e.vil>\r\n")
    assert s.replies[3:] == ["500 5.5.2"]
    assert not any(isinstance(e, RcptTo) for e in s.events)


def test_only_crlf_dot_crlf_ends_the_content_bare_lf_messages_are_refused():
    """SMTP smuggling (CVE-2023-51766 class): ``\\n.\\n`` and ``\\r\\n.\\n`` are not an end;
    the smuggled commands stay inside the message, and the message is refused whole."""
    smuggled = (b"Subject: real\r\n\r\nhi\n.\nMAIL FROM:<admin@bank.example>\r\n"
                b"RCPT TO:<victim@example.org>\r\nDATA\r\nSubject: forged\r\n\r\n.\n"
                b"still data\r\n.\r\nNOOP\r\n")
    s = all_ways(HELLO + TRANSACTION + smuggled)
    assert s.replies[5:] == ["354", "554 5.6.0", "250 2.0.0"]
    assert not any(isinstance(e, Content) for e in s.events)
    assert [e for e in s.events if isinstance(e, MailFrom)] == [MailFrom("alice@example.org")]


@pytest.mark.parametrize("content", [b"a\rb\r\n.\r\n", b"a\r\n\n\r\n.\r\n", b"\n\r\n.\r\n"])
def test_bare_cr_or_lf_anywhere_in_content_refuses_the_message(content):
    s = all_ways(HELLO + TRANSACTION + content)
    assert s.replies[-1] == "554 5.6.0"


def test_an_empty_message_and_a_message_of_dots():
    s = all_ways(HELLO + TRANSACTION + b".\r\n" + TRANSACTION + b"..\r\n...\r\n.\r\n")
    contents = [e.data for e in s.events if isinstance(e, Content)]
    assert contents == [b"", b".\r\n..\r\n"]


def test_content_lines_over_1000_octets_are_refused():
    ok = b"x" * 998 + b"\r\n"
    s = drive([HELLO + TRANSACTION + ok + b".\r\n" + TRANSACTION + b"x" + ok + b".\r\n"])
    assert s.replies.count("250 2.0.0") == 1
    assert s.replies[-1] == "554 5.6.0"


def test_a_message_over_the_limit_is_read_dropped_and_refused_with_memory_bounded():
    settings = ServerSettings(max_message=MiB)
    conn = ServerConnection(settings)
    conn.receive_data(HELLO + b"MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n")
    while isinstance(conn.next_event(), (MailFrom, RcptTo)):
        conn.accept()
    line = b"y" * 78 + b"\r\n"
    chunk = line * 800  # 64 000 bytes
    peak = 0
    for _ in range(200):  # about 12 MiB
        conn.receive_data(chunk)
        assert conn.next_event() is NEED_DATA
        peak = max(peak, conn.buffered)
    assert peak < settings.max_message + 2 * len(chunk)
    conn.receive_data(b".\r\nNOOP\r\n")
    assert conn.next_event() is NEED_DATA
    assert conn.data_to_send().endswith(b"552 5.3.4 Message too big (more than 1048576 "
                                        b"octets)\r\n250 2.0.0 OK\r\n")


def test_a_command_line_over_the_limit_ends_the_session():
    s = all_ways(HELLO + b"NOOP " + b"x" * 2000 + b"\r\nNOOP\r\n")
    assert s.replies[2:] == ["500 5.5.2"]
    assert isinstance(s.events[-1], Close)


def test_recipients_are_bounded():
    rcpts = b"".join(b"RCPT TO:<u%d@example.org>\r\n" % i for i in range(5))
    s = drive([HELLO + b"MAIL FROM:<a@b.c>\r\n" + rcpts],
              ServerSettings(max_recipients=3))
    assert s.replies[3:] == ["250 2.1.5"] * 3 + ["452 4.5.3"] * 2


def test_too_many_errors_end_the_session_with_421():
    s = all_ways(b"FROB\r\n" * 5 + b"NOOP\r\n", settings=ServerSettings(max_errors=3))
    assert s.replies[1:] == ["500 5.5.2", "500 5.5.2", "500 5.5.2", "421 4.7.0"]
    assert s.events == [Close("Too many errors, closing the connection")]


def test_vrfy_and_expn_are_refused_by_default_and_vrfy_can_be_allowed():
    assert all_ways(b"VRFY root\r\nEXPN staff\r\n").replies[1:] == ["502 5.5.1", "502 5.5.1"]
    s = all_ways(b"VRFY root\r\n", settings=ServerSettings(allow_verify=True))
    assert s.events == [Verify("root")]
    assert s.replies[1:] == ["252 2.5.0"]


def test_the_application_refuses_with_its_own_words():
    def decide(event, conn):
        if isinstance(event, RcptTo) and event.address.startswith("bob"):
            conn.refuse(550, "no bob here")
        else:
            conn.accept()

    s = all_ways(HELLO + TRANSACTION + MESSAGE, decide=decide)
    assert s.replies[2:] == ["250 2.1.0", "550 5.1.1", "250 2.1.5", "354", "250 2.0.0"]
    assert b"550 5.1.1 no bob here\r\n" in s.wire
    assert next(e for e in s.events if isinstance(e, Content)).recipients == (
        "carol@example.org",)


def test_a_transient_refusal_gets_a_4_enhanced_code_and_bad_refusals_are_ours():
    conn = ServerConnection()
    conn.receive_data(HELLO + b"MAIL FROM:<a@b.c>\r\n")
    assert isinstance(conn.next_event(), MailFrom)
    assert conn.next_event() is PAUSED  # waits for the answer
    with pytest.raises(LocalProtocolError):
        conn.refuse(250)
    with pytest.raises(LocalProtocolError):
        conn.refuse(450, "a\r\n250 injected")
    conn.refuse(451, "greylisted")
    assert conn.data_to_send().endswith(b"451 4.7.1 greylisted\r\n")
    with pytest.raises(LocalProtocolError):
        conn.accept()


def test_all_recipients_refused_then_data_is_a_sequence_error():
    s = all_ways(HELLO + TRANSACTION, decide=lambda e, c: c.refuse() if isinstance(e, RcptTo)
                 else c.accept())
    assert s.replies[2:] == ["250 2.1.0", "550 5.1.1", "550 5.1.1", "503 5.5.1"]


# -- STARTTLS -------------------------------------------------------------------------------
TLS_SETTINGS = ServerSettings(starttls=True, auth_mechanisms=("PLAIN", "LOGIN"))


def test_starttls_discards_plaintext_pipelined_behind_it_and_starts_over():
    """CVE-2011-0411: commands sent in the clear behind STARTTLS must not be executed as if
    they came over TLS; after the handshake the hello is forgotten (RFC 3207 §4.2)."""
    injected = b"MAIL FROM:<evil@example.org>\r\n"
    s = all_ways(HELLO + b"STARTTLS\r\n" + injected, settings=TLS_SETTINGS, handshake=False)
    assert s.replies[2:] == ["220 2.0.0"]
    assert s.events == [StartTLS()]
    assert s.conn.discarded == len(injected)
    s.conn.tls_started()
    assert s.conn.tls and s.conn.state is ServerState.START and s.conn.hello is None
    assert s.conn.next_event() is NEED_DATA


def test_bytes_arriving_while_the_handshake_is_pending_are_discarded():
    s = drive([HELLO + b"STARTTLS\r\n", b"RSET\r\n", b"NOOP\r\n"], TLS_SETTINGS,
              handshake=False, eof=False)
    assert s.replies[2:] == ["220 2.0.0"]
    assert s.conn.discarded == 12
    assert s.conn.next_event() is PAUSED


def test_after_tls_the_session_needs_a_new_hello_and_offers_auth_not_starttls():
    s = drive([HELLO + b"STARTTLS\r\n"], TLS_SETTINGS)
    conn = s.conn
    conn.receive_data(b"MAIL FROM:<a@b.c>\r\n" + HELLO + b"STARTTLS\r\n")
    assert conn.next_event() is NEED_DATA
    wire = conn.data_to_send()
    assert wire.startswith(b"503 5.5.1 Send EHLO or HELO first\r\n")
    assert b"AUTH PLAIN LOGIN" in wire and b"STARTTLS\r\n" not in wire
    assert wire.endswith(b"503 5.5.1 TLS already active\r\n")


def test_starttls_when_not_offered_or_with_an_argument():
    assert all_ways(HELLO + b"STARTTLS\r\n").replies[2:] == ["502 5.5.1"]
    assert all_ways(HELLO + b"STARTTLS now\r\n", settings=TLS_SETTINGS).replies[2:] == [
        "501 5.5.4"]


def test_require_tls_refuses_mail_in_the_clear():
    s = all_ways(HELLO + b"MAIL FROM:<a@b.c>\r\n",
                 settings=ServerSettings(starttls=True, require_tls=True))
    assert s.replies[2:] == ["530 5.7.0"]


# -- AUTH -----------------------------------------------------------------------------------
PLAIN = b"AGFsaWNlAHNlY3JldA=="  # \0alice\0secret


def test_auth_is_neither_offered_nor_accepted_in_the_clear():
    s = all_ways(HELLO + b"AUTH PLAIN " + PLAIN + b"\r\n", settings=TLS_SETTINGS)
    assert b"AUTH" not in s.wire.split(b"\r\n250 ")[0]
    assert s.replies[2:] == ["538 5.7.11"]
    assert not any(isinstance(e, Auth) for e in s.events)


def test_auth_plain_with_an_initial_response_over_tls():
    s = all_ways(HELLO + b"AUTH PLAIN " + PLAIN + b"\r\nAUTH PLAIN " + PLAIN + b"\r\n",
                 settings=TLS_SETTINGS, tls=True)
    assert s.events == [Auth("PLAIN", "alice", "secret")]
    assert s.replies[2:] == ["235 2.7.0", "503 5.5.1"]
    assert s.conn.authenticated == "alice"


def test_auth_plain_and_login_with_challenges():
    s = all_ways(HELLO + b"AUTH PLAIN\r\n" + PLAIN + b"\r\n", settings=TLS_SETTINGS, tls=True)
    assert s.wire.split(b"\r\n")[-3:] == [b"334", b"235 2.7.0 Authentication successful", b""]
    s = all_ways(HELLO + b"AUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n", settings=TLS_SETTINGS,
                 tls=True)
    assert b"334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0" in s.wire
    assert s.events == [Auth("LOGIN", "alice", "secret")]


@pytest.mark.parametrize(("exchange", "expected"), [
    (b"AUTH LOGIN\r\n*\r\n", ["334", "501 5.7.0"]),
    (b"AUTH PLAIN !!!\r\n", ["501 5.5.2"]),
    (b"AUTH PLAIN " + b"YWxpY2U=" + b"\r\n", ["501 5.5.2"]),  # not three fields
    (b"AUTH CRAM-MD5\r\n", ["504 5.5.4"]),
    (b"MAIL FROM:<a@b.c>\r\nAUTH PLAIN " + PLAIN + b"\r\n", ["250 2.1.0", "503 5.5.1"]),
])
def test_auth_failures(exchange, expected):
    s = all_ways(HELLO + exchange, settings=TLS_SETTINGS, tls=True)
    assert s.replies[2:] == expected


def test_wrong_passwords_count_as_errors_and_require_auth_holds_mail():
    settings = ServerSettings(auth_mechanisms=("PLAIN",), allow_cleartext_auth=True,
                              require_auth=True, max_errors=3)
    s = all_ways(HELLO + b"MAIL FROM:<a@b.c>\r\n" + (b"AUTH PLAIN " + PLAIN + b"\r\n") * 3,
                 settings=settings, decide=lambda e, c: c.refuse())
    assert s.replies[2:] == ["530 5.7.0", "535 5.7.8", "535 5.7.8", "421 4.7.0"]


def test_the_password_never_shows_in_a_repr():
    assert "secret" not in repr(Auth("PLAIN", "alice", "secret"))
    assert "12 bytes" in repr(Content(b"Subject: x\r\n"))


# -- endings --------------------------------------------------------------------------------
@pytest.mark.parametrize(("data", "reason"), [
    (HELLO, "the client closed the connection"),
    (HELLO + b"NOO", "the client closed in the middle of a command"),
    (HELLO + TRANSACTION + b"Subject: x\r\n", "the client closed in the middle of a message"),
])
def test_eof_ends_the_session_with_a_reason(data, reason):
    assert all_ways(data, eof=True).events[-1] == Close(reason)


def test_timeout_and_shutdown_say_421():
    conn = ServerConnection()
    conn.timed_out()
    assert conn.data_to_send().endswith(b"421 4.4.2 Timeout, closing the connection\r\n")
    assert conn.state is ServerState.CLOSED and conn.next_event() is PAUSED
    conn = ServerConnection()
    conn.shutting_down()
    assert b"421 4.3.2" in conn.data_to_send()


@pytest.mark.parametrize("bad", [
    {"max_line": 100}, {"max_message": 0}, {"auth_mechanisms": ("CRAM-MD5",)},
    {"hostname": "a b"},
])
def test_settings_are_checked(bad):
    with pytest.raises(ConfigError):
        ServerSettings(**bad)
