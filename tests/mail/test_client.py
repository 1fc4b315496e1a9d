"""wirekit's mail client against aiosmtpd (plain, STARTTLS verified with a trustme CA, AUTH,
pipelining, SMTPUTF8, refusals) and against fake servers that strip or poison STARTTLS
(SECURITY.md M01-M04)."""

from __future__ import annotations

import socket
import ssl
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirekit.config import TLSConfig
from wirekit.errors import (
    AuthenticationError,
    ConfigError,
    MessageTooLarge,
    RemoteProtocolError,
    TLSError,
)
from wirekit.mail import InvalidMessage, MailRefused, RecipientsRefused
from wirekit.mail.client import Client, send

aiosmtpd = pytest.importorskip("aiosmtpd")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402


class Recorder:
    """An aiosmtpd handler that keeps every envelope and refuses ``nobody@...``."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 2.0.0 stored"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"alice" \
        and auth_data.password == b"wonderland"
    return AuthResult(success=ok)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def aiosmtpd_server(certificate):
    """``start(**smtp_options)`` -> (port, recorder): aiosmtpd on 127.0.0.1 with STARTTLS."""
    controllers = []

    def start(**options):
        recorder = Recorder()
        controller = Controller(recorder, hostname="127.0.0.1", port=free_port(),
                                tls_context=certificate.server(), authenticator=authenticator,
                                **options)
        controller.start()
        controllers.append(controller)
        return controller.port, recorder

    yield start
    for controller in controllers:
        controller.stop()


def message(to: str = "bob@example.org", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "alice@example.org", to, "Hello"
    for name, value in headers.items():
        msg[name] = value
    msg.set_content("Hi Bob,\n.a line with a dot\n")
    msg.add_alternative("<p>Hi Bob</p>", subtype="html")
    msg.add_attachment(b"\x00\x01binary", maintype="application", subtype="octet-stream",
                       filename="data.bin")
    return msg


def test_send_over_starttls_with_auth_verified_against_the_test_ca(aiosmtpd_server,
                                                                   certificate):
    port, recorder = aiosmtpd_server(auth_required=True)
    result = send(message(Bcc="hidden@example.org"), "127.0.0.1", port,
                  auth=("alice", "wonderland"), context=certificate.client)
    assert result.reply.code == 250
    assert result.accepted == ("bob@example.org", "hidden@example.org")
    [envelope] = recorder.envelopes
    assert envelope.mail_from == "alice@example.org"
    assert envelope.rcpt_tos == ["bob@example.org", "hidden@example.org"]
    content = envelope.content
    assert b"Bcc" not in content  # blind recipients stay blind
    assert b"\r\n.a line with a dot\r\n" in content  # unstuffed by the server, intact
    assert b'filename="data.bin"' in content


def test_starttls_is_verified_by_default(aiosmtpd_server):
    port, _ = aiosmtpd_server()
    with pytest.raises(TLSError):  # the test CA is not in the system store
        send(message(), "127.0.0.1", port)
    with pytest.raises(TLSError):  # an explicit TLSConfig still verifies
        send(message(), "127.0.0.1", port, context=TLSConfig())



def test_several_messages_on_one_connection_and_a_partly_refused_envelope(aiosmtpd_server,
                                                                        certificate):
    port, recorder = aiosmtpd_server()
    with Client("127.0.0.1", port, context=certificate.client) as client:
        assert not client.conn.supports("PIPELINING")  # aiosmtpd: one command at a time
        first = client.send(message())
        second = client.send(message(to="bob@example.org, nobody@example.org"))
        with pytest.raises(RecipientsRefused) as caught:
            client.send(message(to="nobody@example.org"))
        third = client.send(message(to="carol@example.org"))  # the session goes on
        assert client.noop().code == 250
    assert first.accepted == ("bob@example.org",)
    assert second.refused["nobody@example.org"].code == 550
    assert caught.value.refused["nobody@example.org"].enhanced == "5.1.1"
    assert third.accepted == ("carol@example.org",)
    assert len(recorder.envelopes) == 3


def test_smtputf8_addresses_and_headers(aiosmtpd_server, certificate):
    port, recorder = aiosmtpd_server()
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "jösé@exämple.org", "ñandú@exämple.org", "¡hola!"
    msg.set_content("grüße\n")
    send(msg, "127.0.0.1", port, context=certificate.client)
    [envelope] = recorder.envelopes
    assert envelope.smtp_utf8
    assert envelope.mail_from == "jösé@exämple.org"
    assert "Subject: ¡hola!".encode() in envelope.content


def test_wrong_password_and_cleartext_auth(start_catcher, certificate):
    """(aiosmtpd 1.4.6 never answers a failed AUTH, so wirekit's catcher plays the server.)"""
    catcher = start_catcher("threads", auth=True)
    with pytest.raises(AuthenticationError, match=r"535 5\.7\.8"):
        send(message(), catcher.host, catcher.port, auth=("alice", "nope"),
             context=certificate.client)
    send(message(), catcher.host, catcher.port, auth=("alice", "wonderland"),
         context=certificate.client)
    with pytest.raises(ConfigError, match="without TLS"):
        send(message(), catcher.host, catcher.port, tls=None, auth=("alice", "wonderland"))
    assert len(list(catcher.store)) == 1


@pytest.mark.parametrize("bad", [
    {"recipients": ["bob@example.org>\r\nRCPT TO:<evil@example.org"]},
    {"sender": "a@b.c\nRCPT TO:<evil@example.org>"},
    {"recipients": ["evil@example.org> NOTIFY=NEVER"]},
])
def test_injection_is_refused_before_anything_is_sent(bad, raw_server):
    """SECURITY.md M03: the server sees no byte (not even a connection is needed)."""
    connected = []
    peer = raw_server(lambda conn: connected.append(conn.recv(100)))
    host, _, port = peer.address.rpartition(":")
    with pytest.raises(InvalidMessage):
        send(message(), host, int(port), tls=None, **bad)
    assert connected == []
    socket.create_connection((host, int(port)), timeout=5).close()  # release the peer
    peer.thread.join(5)
    assert connected == [b""]  # ours was the first connection it saw


def test_header_line_breaks_are_refused():
    from email.message import Message

    legacy = Message()
    legacy["From"], legacy["To"] = "a@b.example", "c@d.example"
    legacy["Subject"] = "hi\r\nBcc: evil@example.org"
    with pytest.raises(InvalidMessage, match="line break"):
        send(legacy, "127.0.0.1", 9, tls=None)


def _assorted_messages() -> list[EmailMessage]:
    plain = EmailMessage()
    plain["From"], plain["To"], plain["Subject"] = "a@b.example", "c@d.example", "plain"
    plain.set_content("one\ntwo\r\nthree\rfour\n\n")
    mixed = EmailMessage()
    mixed["From"], mixed["To"] = "a@b.example", "c@d.example"
    mixed["Subject"] = "h\u00e9llo w\u00f6rld " * 10  # folded, RFC 2047 encoded words
    mixed.set_content("no line break at the end")
    mixed.add_alternative("<p>hi</p>", subtype="html")
    mixed.add_attachment(bytes(range(256)) * 40, maintype="application",
                         subtype="octet-stream", filename="x.bin")
    eight_bit = EmailMessage()
    eight_bit["From"] = "a@b.example"
    eight_bit.set_content("\u00fcn\u00efcode\n" * 50, cte="8bit")
    raw_breaks = EmailMessage()  # a payload set as is: CR, LF and CRLF all stay in it
    raw_breaks["From"] = "a@b.example"
    raw_breaks.set_payload("one\ntwo\r\nthree\rfour\n\nfive")
    return [plain, mixed, eight_bit, raw_breaks]


@pytest.mark.parametrize("smtputf8", [False, True])
def test_messages_are_serialised_byte_for_byte_as_the_standard_library_does(smtputf8):
    """The client writes a body in one piece instead of line by line: the bytes must be
    what ``as_bytes`` gives, whatever the line ends and parts."""
    from email import policy

    from wirekit.mail.message import _serialise

    chosen = policy.SMTPUTF8 if smtputf8 else policy.SMTP
    for message in _assorted_messages():
        assert _serialise(message, smtputf8) == message.as_bytes(policy=chosen)


_HEADER_NAMES = ["Subject", "From", "To", "Cc", "Reply-To", "Sender", "Date", "Message-ID",
                 "Content-Type", "Content-Disposition", "Content-Transfer-Encoding",
                 "MIME-Version", "X-Mailer", "In-Reply-To", "References"]


@settings(max_examples=600, deadline=None)
@given(name=st.sampled_from(_HEADER_NAMES),
       value=st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=90)
       | st.sampled_from(['"Doe, John" <j@x.example>', "John  Doe <j@x.example>",
                          "a@b.example (comment)", "=?utf-8?q?caf=C3=A9?=",
                          'text/plain; charset="utf-8"', "attachment; filename=a b.txt",
                          "<id@x.example>", "1.0", "Sun, 06 Dec 2026 01:14:38 +0000",
                          "caf\u00e9 " * 12, "x" * 73, "x" * 74, ""]))
def test_headers_written_in_one_line_are_what_the_policy_folds(name, value):
    """The client writes a short header without the standard library's refolding; whatever
    the header class and text, the bytes must be the policy's."""
    from email import policy

    from wirekit.mail.message import _short_header

    message = EmailMessage()
    try:
        message[name] = value
    except (ValueError, TypeError, IndexError, AttributeError):
        return  # the standard library refuses it: nothing to compare
    [(_, stored)] = message.raw_items()
    for chosen in (policy.SMTP, policy.SMTPUTF8):
        line = _short_header(chosen, name, stored)
        try:
            expected = chosen.fold_binary(name, stored)
        except Exception:  # the stdlib cannot fold it: neither may we
            assert line is None
            continue
        assert line is None or line == expected


def fake_server(raw_server, script):
    """A raw server that greets, answers EHLO with ``ehlo``, then sends ``script`` to the
    next command and records what it received."""
    seen: list[bytes] = []

    def handle(conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        conn.sendall(b"220 fake ESMTP\r\n")
        seen.append(reader.readline())
        conn.sendall(script[0])
        for answer in script[1:]:
            seen.append(reader.readline())
            conn.sendall(answer)
        try:
            while chunk := reader.read1(65536):
                seen.append(chunk)
        except OSError:
            pass

    peer = raw_server(handle)
    host, _, port = peer.address.rpartition(":")
    return host, int(port), seen


def test_starttls_stripped_from_ehlo_is_refused_before_mail(raw_server, certificate):
    """M01: the server (or a man in the middle) does not offer STARTTLS."""
    host, port, seen = fake_server(raw_server, [b"250-fake\r\n250 PIPELINING\r\n"])
    with pytest.raises(TLSError, match="does not offer STARTTLS"):
        send(message(), host, port, auth=("alice", "wonderland"), context=certificate.client)
    assert not any(b"MAIL" in s or b"AUTH" in s for s in seen)


def test_starttls_refused_is_refused_before_mail(raw_server, certificate):
    """M01: STARTTLS advertised, then answered 454."""
    host, port, seen = fake_server(raw_server, [b"250-fake\r\n250 STARTTLS\r\n",
                                                b"454 4.7.0 TLS not available\r\n"])
    with pytest.raises(TLSError, match="refused STARTTLS"):
        send(message(), host, port, context=certificate.client)
    assert not any(b"MAIL" in s for s in seen)


def test_plaintext_injected_behind_the_starttls_220_is_an_error(raw_server, certificate):
    """M02: ``220 go\\r\\n250 injected\\r\\n`` in one segment."""
    host, port, seen = fake_server(raw_server, [b"250-fake\r\n250 STARTTLS\r\n",
                                                b"220 go ahead\r\n250 injected\r\n"])
    with pytest.raises(RemoteProtocolError, match="injection"):
        send(message(), host, port, context=certificate.client)
    assert not any(b"MAIL" in s for s in seen)


def test_implicit_tls_against_wirekits_own_catcher(start_catcher, certificate):
    """Port-465 style (RFC 8314): TLS from the first byte."""
    catcher = start_catcher("threads", implicit_tls=True)
    send(message(), catcher.host, catcher.port, tls="implicit", context=certificate.client)
    [caught] = list(catcher.store)
    assert "with ESMTPS" in str(caught.message["Received"])
    assert caught.text == "Hi Bob,\n.a line with a dot\n"


def test_a_refused_message_is_a_mail_refused_error(start_catcher, certificate):
    catcher = start_catcher("async", max_message=2000)
    data = b"Subject: x\r\n\r\n" + b"y\r\n" * 1500
    with pytest.raises(MessageTooLarge, match="at most 2000"):  # SIZE known: refused here
        send(data, catcher.host, catcher.port, context=certificate.client,
             sender="a@b.example", recipients=["c@d.example"])
    with Client(catcher.host, catcher.port, context=certificate.client) as client:
        client.conn.extensions.pop("SIZE")  # as if the server had not said: it refuses later
        with pytest.raises(MailRefused) as refused:
            client.send(data, sender="a@b.example", recipients=["c@d.example"])
        assert refused.value.reply.code == 552 and not refused.value.temporary
    assert list(catcher.store) == []


def test_the_default_context_is_a_verifying_one():
    client = Client("127.0.0.1", 1)
    assert client.context.verify_mode == ssl.CERT_REQUIRED and client.context.check_hostname
    assert Client(tls="implicit").port == 465 and Client(tls=None).port == 25
