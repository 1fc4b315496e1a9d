"""Hostile clients against wirekit's catcher, in every concurrency mode: a 10 MB line, 10,000
recipients, a slow drip, a bare-LF "end of data" (SMTP smuggling) and plaintext pipelined
behind STARTTLS (CVE-2011-0411 class). Each attack ends in a bounded, answered refusal and
the server goes on serving."""

from __future__ import annotations

import contextlib
import smtplib
import socket
import threading
import time

import pytest

from .conftest import IN_PROCESS, MODES


class Lines:
    """A raw client: send bytes, read reply lines."""

    def __init__(self, host: str, port: int, timeout: float = 10) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.reader = self.sock.makefile("rb")
        assert self.reply().startswith(b"220 ")

    def reply(self) -> bytes:
        """One whole reply's last line (continuation lines skipped)."""
        while (line := self.reader.readline()).startswith(b"250-"):
            pass
        return line

    def ask(self, data: bytes) -> bytes:
        self.sock.sendall(data)
        return self.reply()

    def at_eof(self) -> bool:
        try:
            return self.reader.read() is not None and self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def send_in_background(sock: socket.socket, data: bytes) -> threading.Thread:
    """Send ``data`` from a thread (the server stops reading it); errors are expected."""
    def run() -> None:
        with contextlib.suppress(OSError):
            sock.sendall(data)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def still_serves(catcher) -> None:
    with smtplib.SMTP(catcher.host, catcher.port, timeout=10) as smtp:
        assert smtp.noop()[0] == 250


@pytest.mark.parametrize("mode", MODES)
def test_a_10_mb_line_is_refused_after_1000_octets(mode, start_catcher):
    catcher = start_catcher(mode)
    client = Lines(catcher.host, catcher.port)
    sender = send_in_background(client.sock, b"EHLO " + b"x" * (10 * 1024 * 1024))
    assert client.reply().startswith(b"500 5.5.2 Line longer than 1000 octets")
    assert client.at_eof()
    sender.join(10)
    client.close()
    still_serves(catcher)


@pytest.mark.parametrize("mode", MODES)
def test_10000_recipients_are_bounded_and_the_flood_is_cut_off(mode, start_catcher):
    catcher = start_catcher(mode)
    client = Lines(catcher.host, catcher.port)
    assert client.ask(b"EHLO flood.test\r\n").startswith(b"250 ")
    flood = b"MAIL FROM:<a@b.example>\r\n" + b"".join(
        b"RCPT TO:<user%d@example.org>\r\n" % i for i in range(10_000))
    sender = send_in_background(client.sock, flood)
    replies = []
    while (line := client.reader.readline()) and len(replies) < 10_001:
        replies.append(line[:9])
    assert replies[0] == b"250 2.1.0"
    assert replies[1:101] == [b"250 2.1.5"] * 100  # RFC 5321's minimum of 100
    assert replies[101:] == [b"452 4.5.3"] * 20 + [b"421 4.7.0"]  # then hung up
    sender.join(10)
    client.close()
    assert list(catcher.store) == []
    still_serves(catcher)


@pytest.mark.parametrize("mode", MODES)
def test_a_slow_drip_is_cut_off_at_the_command_deadline(mode, start_catcher):
    """A byte every 0.1 s keeps the connection from ever being idle; the deadline for the
    whole command line (``timeouts.message``, 1 s here) ends it anyway (SECURITY.md L04)."""
    catcher = start_catcher(mode, idle=1.0)
    client = Lines(catcher.host, catcher.port)
    stop = threading.Event()

    def drip() -> None:
        try:
            while not stop.wait(0.1):
                client.sock.sendall(b"x")
        except OSError:
            pass

    started = time.monotonic()
    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        assert client.reply().startswith(b"421 4.4.2 Timeout")
        elapsed = time.monotonic() - started
        assert 0.9 <= elapsed < 3.0, elapsed
    finally:
        stop.set()
        dripper.join(5)
        client.close()
    still_serves(catcher)


@pytest.mark.parametrize("mode", IN_PROCESS)
def test_a_slow_drip_of_content_is_cut_off_at_the_content_deadline(mode, start_catcher):
    catcher = start_catcher(mode, idle=1.0, content_timeout=1.5)
    client = Lines(catcher.host, catcher.port)
    assert client.ask(b"EHLO slow.test\r\nMAIL FROM:<a@b.example>\r\n").startswith(b"250 ")
    assert client.reply().startswith(b"250 2.1.0")
    assert client.ask(b"RCPT TO:<c@d.example>\r\n").startswith(b"250 ")
    assert client.ask(b"DATA\r\n").startswith(b"354 ")
    stop = threading.Event()

    def drip() -> None:
        try:
            while not stop.wait(0.1):
                client.sock.sendall(b"line\r\n")
        except OSError:
            pass

    started = time.monotonic()
    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        assert client.reply().startswith(b"421 4.4.2 Timeout")
        assert 1.4 <= time.monotonic() - started < 3.5
    finally:
        stop.set()
        dripper.join(5)
        client.close()
    assert list(catcher.store) == []


@pytest.mark.parametrize("mode", MODES)
def test_a_bare_lf_end_of_data_ends_nothing_and_the_message_is_refused(mode, start_catcher):
    """SMTP smuggling (CVE-2023-51766 class): ``\\n.\\n`` is data; the smuggled second
    message never becomes one, and the whole is refused when the real end comes."""
    catcher = start_catcher(mode)
    client = Lines(catcher.host, catcher.port)
    client.ask(b"EHLO smuggler.test\r\n")
    assert client.ask(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"
                      ).startswith(b"250 2.1.0")
    assert client.reply().startswith(b"250 2.1.5")
    assert client.reply().startswith(b"354 ")
    client.sock.sendall(b"Subject: first\r\n\r\nhi\n.\nMAIL FROM:<admin@bank.example>\r\n"
                        b"RCPT TO:<victim@example.org>\r\nDATA\r\nSubject: forged\r\n\r\n"
                        b"pay now\r\n.\n")
    assert client.ask(b"NOOP\r\n.\r\n").startswith(b"554 5.6.0 Bare CR or LF")
    assert client.ask(b"NOOP\r\n").startswith(b"250 2.0.0")
    client.close()
    assert list(catcher.store) == []


@pytest.mark.parametrize("mode", MODES)
def test_plaintext_pipelined_behind_starttls_is_discarded(mode, start_catcher, certificate):
    """CVE-2011-0411: commands sent in the clear behind STARTTLS are never executed; the
    TLS session starts from scratch (RFC 3207 §4.2)."""
    catcher = start_catcher(mode)
    raw = socket.create_connection((catcher.host, catcher.port), timeout=10)
    client = Lines.__new__(Lines)
    client.sock, client.reader = raw, raw.makefile("rb")
    assert client.reply().startswith(b"220 ")
    client.ask(b"EHLO tls.test\r\n")
    raw.sendall(b"STARTTLS\r\nEHLO evil.test\r\nMAIL FROM:<evil@example.org>\r\n")
    line = b""
    while not line.endswith(b"\r\n"):  # read the 220 byte by byte: nothing beyond it
        line += raw.recv(1)
    assert line.startswith(b"220 2.0.0")
    client.reader.close()
    tls = certificate.client.wrap_socket(raw, server_hostname="127.0.0.1")
    secure = Lines.__new__(Lines)
    secure.sock, secure.reader = tls, tls.makefile("rb")
    assert secure.ask(b"RCPT TO:<victim@example.org>\r\n").startswith(b"503 5.5.1 Send EHLO")
    assert secure.ask(b"EHLO tls.test\r\n").startswith(b"250 ")
    assert secure.ask(b"RCPT TO:<victim@example.org>\r\n").startswith(b"503 5.5.1 Need MAIL")
    assert secure.ask(b"QUIT\r\n").startswith(b"221 ")
    secure.close()
