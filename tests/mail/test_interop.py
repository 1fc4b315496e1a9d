"""wirekit's catcher driven by the standard library's ``smtplib`` over loopback, in every
concurrency mode: EHLO, STARTTLS verified against a test CA, AUTH, SMTPUTF8, a 20 MB message,
and pipelining (by hand: smtplib does not pipeline)."""

from __future__ import annotations

import smtplib
import socket
import threading
from email.message import EmailMessage

import pytest

from .conftest import MODES


def message(subject: str = "Hello", to: str = "bob@example.org", body: str = "Hi Bob\n",
            sender: str = "alice@example.org") -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg.set_content(body)
    return msg


@pytest.mark.parametrize("mode", MODES)
def test_smtplib_starttls_auth_smtputf8_and_20_mb_in_every_mode(mode, start_catcher,
                                                                 certificate):
    catcher = start_catcher(mode, auth=True)
    with smtplib.SMTP(catcher.host, catcher.port, timeout=20) as smtp:
        code, _ = smtp.ehlo("client.test")
        assert code == 250
        assert smtp.has_extn("starttls") and smtp.has_extn("pipelining")
        assert not smtp.has_extn("auth")  # never offered in the clear
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # AUTH is required
            smtp.sendmail("alice@example.org", ["bob@example.org"], b"x")
        assert refused.value.smtp_code == 530
        smtp.starttls(context=certificate.client)  # verified against the test CA
        smtp.ehlo("client.test")
        assert smtp.has_extn("auth") and not smtp.has_extn("starttls")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login("alice", "wrong")
        smtp.login("alice", "wonderland")
        assert smtp.send_message(message("plain")) == {}
        assert smtp.send_message(message("ünïcode", to="jösé@exämple.org",
                                         body="Grüße\n")) == {}
        big = message("big", body=("x" * 76 + "\n") * (20 * 1024 * 1024 // 77))
        assert smtp.send_message(big) == {}
    caught = {m.subject: m for m in catcher.store}
    assert set(caught) == {"plain", "ünïcode", "big"}
    assert "with ESMTPSA" in str(caught["plain"].message["Received"])
    assert "with UTF8SMTPSA" in str(caught["ünïcode"].message["Received"])
    assert caught["ünïcode"].recipients == ("jösé@exämple.org",)
    assert caught["ünïcode"].text == "Grüße\n"
    assert caught["big"].size > 20_000_000


@pytest.mark.parametrize("mode", MODES)
def test_a_pipelined_envelope_gets_its_replies_in_order(mode, start_catcher):
    catcher = start_catcher(mode)
    with socket.create_connection((catcher.host, catcher.port), timeout=10) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"220 ")
        sock.sendall(b"EHLO client.test\r\n")
        while not (line := reader.readline()).startswith(b"250 "):
            assert line.startswith(b"250-")
        sock.sendall(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
                     b"RCPT TO:<bad address>\r\nRCPT TO:<e@f.example>\r\nDATA\r\n")
        replies = [reader.readline()[:9] for _ in range(5)]
        assert replies == [b"250 2.1.0", b"250 2.1.5", b"501 5.5.4", b"250 2.1.5",
                           b"354 End d"]
        sock.sendall(b"Subject: piped\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        assert reader.readline().startswith(b"250 2.0.0 Message accepted as ")
        assert reader.readline().startswith(b"221 ")
    [caught] = list(catcher.store)
    assert caught.recipients == ("c@d.example", "e@f.example")
    assert caught.sender == "a@b.example"


def test_smtplib_send_to_a_refusing_size_limit(start_catcher):
    catcher = start_catcher("threads", max_message=1000)
    with smtplib.SMTP(catcher.host, catcher.port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.send_message(message(body="y" * 2000))
        assert refused.value.smtp_code == 552  # SIZE=... declared over the limit
    assert list(catcher.store) == []


@pytest.mark.parametrize("mode", ["sync", "threads", "async"])
def test_a_graceful_stop_says_421_to_an_idle_session_and_finishes_a_busy_one(mode, tmp_path):
    """RFC 5321 §3.8: a server going down answers 421; a message in progress is finished
    first, then the session ends the same way."""
    from wirekit.mail import MailServer

    server = MailServer(tmp_path / "m", "127.0.0.1:0", concurrency=mode).start()
    idle = socket.create_connection(("127.0.0.1", server.address.port), timeout=10)
    idle_reader = idle.makefile("rb")
    assert idle_reader.readline().startswith(b"220 ")
    busy = None
    if mode != "sync":  # sync serves one connection at a time
        busy = socket.create_connection(("127.0.0.1", server.address.port), timeout=10)
        busy_reader = busy.makefile("rb")
        assert busy_reader.readline().startswith(b"220 ")
        busy.sendall(b"HELO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
        assert [busy_reader.readline()[:3] for _ in range(4)] == [b"250", b"250", b"250",
                                                                 b"354"]
        busy.sendall(b"Subject: in flight\r\n\r\n")
    stopper = threading.Thread(target=server.shutdown, kwargs={"timeout": 20})
    stopper.start()
    assert idle_reader.readline().startswith(b"421 4.3.2")
    if busy is not None:
        busy.sendall(b"last line\r\n.\r\n")
        assert busy_reader.readline().startswith(b"250 2.0.0")
        assert busy_reader.readline().startswith(b"421 4.3.2")
        busy.close()
    stopper.join(30)
    idle.close()
    assert [m.subject for m in server.store] == ([] if busy is None else ["in flight"])
