"""``wirekit connect``: the course's telnet (slide 1-10), which Python 3.13 removed.

Standard input goes to the socket and the socket goes to standard output, until either side
closes. One ``selectors`` loop watches both, so a peer that closes ends the command at once even
while we wait for the user to type.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import ssl
import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO

import click

from wirekit.config import TLSConfig
from wirekit.errors import (
    ConnectionClosed,
    InvalidAddress,
    MessageTooLarge,
    NetworkError,
    Timeout,
)
from wirekit.net.address import Address
from wirekit.net.connect import connect
from wirekit.net.datagram import DatagramEndpoint
from wirekit.net.stream import Stream

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

_CHUNK = 65536


def hexdump(data: bytes, offset: int = 0) -> str:
    """Classic 16-bytes-a-line dump: offset, hex, printable ASCII."""
    lines = []
    for i in range(0, len(data), 16):
        row = data[i : i + 16]
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in row)
        lines.append(f"{offset + i:08x}  {row.hex(' '):<47}  |{text}|")
    return "\n".join(lines) + "\n"


class Output:
    """Writes what arrives, raw or as a hex dump with a running offset."""

    def __init__(self, sink: BinaryIO, hexview: bool) -> None:
        self.sink, self.hexview, self.offset = sink, hexview, 0

    def write(self, data: bytes) -> None:
        self.sink.write(hexdump(data, self.offset).encode() if self.hexview else data)
        self.sink.flush()
        self.offset += len(data)


def _to_crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _drain(sock: socket.socket, out: Output) -> bool:
    """Read what is ready; ``False`` once the peer has closed. TLS may hold decrypted bytes
    that ``select`` cannot see, hence the ``pending()`` loop."""
    while True:
        try:
            data = sock.recv(_CHUNK)
        except (BlockingIOError, ssl.SSLWantReadError):
            return True
        except ConnectionResetError:
            return False
        if not data:
            return False
        out.write(data)
        if not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
            return True


def relay_stream(stream: Stream, source: BinaryIO | None, out: Output, *, crlf: bool,
                 linger: float) -> None:
    """Copy ``source`` to the stream and the stream to ``out`` until the peer closes, or
    ``linger`` seconds after ``source`` ends."""
    sock = stream.socket
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    if source is not None:
        selector.register(source, selectors.EVENT_READ)
    give_up_at = None if source is not None else time.monotonic() + linger
    sock.settimeout(0)
    while True:
        wait = None if give_up_at is None else give_up_at - time.monotonic()
        if wait is not None and wait <= 0:
            return
        for key, _ in selector.select(wait):
            if key.fileobj is sock:
                if not _drain(sock, out):
                    return
                continue
            assert source is not None  # the only other file registered
            chunk = os.read(source.fileno(), _CHUNK)
            if not chunk:  # end of input: tell the peer (TLS cannot half-close), then wait
                selector.unregister(source)
                if not stream.is_tls:
                    stream.shutdown("write")
                give_up_at = time.monotonic() + linger
            else:
                stream.reset_timeouts()  # we made the socket non-blocking behind its back
                stream.sendall(_to_crlf(chunk) if crlf else chunk)
            sock.settimeout(0)


def _selectable(source: FileDescriptorLike) -> bool:
    """Pipes, terminals and sockets can be watched; a regular file or /dev/null cannot (epoll
    refuses them with EPERM), so those are sent whole instead."""
    try:
        with selectors.DefaultSelector() as probe:
            probe.register(source, selectors.EVENT_READ)
    except (OSError, ValueError):
        return False
    return True


def send_file(stream: Stream, source: str | BinaryIO, crlf: bool) -> None:
    """Send a file (a path or an open binary file), then half-close (not possible on TLS)."""
    with contextlib.ExitStack() as stack:
        handle = stack.enter_context(open(source, "rb")) if isinstance(source, str) else source
        while chunk := handle.read(_CHUNK):
            stream.sendall(_to_crlf(chunk) if crlf else chunk)
    if not stream.is_tls:
        stream.shutdown("write")


def relay_datagrams(endpoint: DatagramEndpoint, lines: Iterable[bytes], out: Output,
                    wait: float) -> None:
    """Send each input line as one datagram and print every reply; stop ``wait`` seconds after
    the input ends."""
    for line in lines:
        endpoint.send(line)
        _receive_replies(endpoint, out, 0.05)
    _receive_replies(endpoint, out, wait)


def _receive_replies(endpoint: DatagramEndpoint, out: Output, wait: float) -> None:
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        try:
            out.write(endpoint.receive(timeout=left).data)
        except Timeout:
            return
        except (ConnectionRefusedError, ConnectionClosed) as exc:
            raise NetworkError(f"no server is listening: {exc}") from exc
        except NetworkError as exc:
            if exc.errno == 111:  # ECONNREFUSED from an ICMP port-unreachable
                raise NetworkError("no server is listening (port unreachable)") from exc
            raise


@click.command(epilog="""\b
Examples:
  wirekit connect example.org:80            # then type: GET / HTTP/1.0, Enter, Enter
  wirekit connect localhost 25              # HOST PORT works too, as with telnet
  wirekit connect --tls example.org:443
  wirekit connect --udp 127.0.0.1:9999      # each line is one datagram
  wirekit connect unix:/tmp/echo.sock --send request.txt --hex
  wirekit connect 127.0.0.1:9000 --lf --send frames.bin   # bytes exactly as in the file

\b
Line ends: over TCP (and TLS, Unix) each LF typed or sent goes out as CR LF, as telnet does,
since HTTP, SMTP and FTP want CR LF; --lf sends the bytes unchanged. UDP sends them unchanged
unless --crlf.
""")
@click.argument("address")
@click.argument("port", required=False, type=click.IntRange(0, 65535))
@click.option("--udp", is_flag=True, help="Send each input line as a UDP datagram.")
@click.option("--tls", is_flag=True, help="Use TLS (the certificate is verified).")
@click.option("--insecure", is_flag=True, help="With --tls: do not verify the certificate.")
@click.option("--cafile", type=click.Path(exists=True, dir_okay=False),
              help="With --tls: also trust this CA certificate (PEM).")
@click.option("--send", "send_path", type=click.Path(exists=True, dir_okay=False),
              help="Send this file instead of reading standard input.")
@click.option("--crlf/--lf", default=None,
              help="Send line ends as CR LF, or unchanged [default: CR LF over TCP, as "
                   "telnet; unchanged over UDP].")
@click.option("--hex", "hexview", is_flag=True, help="Show received bytes as a hex dump.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=5.0,
              show_default=True, help="Seconds allowed for connecting (and TLS).")
@click.option("--wait", type=click.FloatRange(min=0),
              help="After the input ends, seconds to wait for replies [default: 30 for TCP, "
                   "2 for UDP, which has no close to wait for].")
def command(address: str, port: int | None, udp: bool, tls: bool, insecure: bool,
            cafile: str | None, send_path: str | None, crlf: bool | None, hexview: bool,
            timeout: float, wait: float | None) -> None:
    """Connect to ADDRESS (HOST:PORT, [IPv6]:PORT or unix:/path) and relay standard input
    and output, like telnet. Ends when the server closes, or when the input ends and the
    server has answered."""
    target = _target(address, port)
    if (insecure or cafile) and not tls:
        raise click.UsageError("--insecure and --cafile only make sense with --tls")
    if udp and tls:
        raise click.UsageError("--tls cannot be combined with --udp")
    out = Output(sys.stdout.buffer, hexview)
    if udp:
        _run_udp(target, send_path, bool(crlf), out, 2.0 if wait is None else wait)
        return
    crlf = crlf is not False  # TCP: CR LF unless --lf
    wait = 30.0 if wait is None else wait
    settings = TLSConfig(verify=not insecure, cafile=cafile) if tls else None
    with connect(target, timeout=timeout, tls=settings) as stream:
        if sys.stdin.isatty():
            click.echo(f"Connected to {target}. Close with Ctrl-D (end of input).", err=True)
        if send_path or not _selectable(sys.stdin):
            # A file (or /dev/null) on standard input cannot be watched by select: send it.
            send_file(stream, send_path or sys.stdin.buffer, crlf)
            relay_stream(stream, None, out, crlf=crlf, linger=wait)
        else:
            relay_stream(stream, sys.stdin.buffer, out, crlf=crlf, linger=wait)


def _target(text: str, port: int | None) -> Address:
    """HOST:PORT, or HOST and PORT as two arguments (telnet's way), never both."""
    try:
        if port is None:
            return Address.parse(text)
        if text.startswith("unix:"):
            raise click.UsageError("a Unix socket address takes no port")
        try:
            Address.parse(text)
        except InvalidAddress:
            return Address.parse(text, default_port=port)
        raise click.UsageError("give the port either as HOST:PORT or as a second argument")
    except InvalidAddress as exc:
        raise click.BadParameter(str(exc), param_hint="ADDRESS") from None


def _run_udp(address: Address, send_path: str | None, crlf: bool, out: Output, wait: float
             ) -> None:
    with DatagramEndpoint.connect(address) as endpoint:
        if send_path:
            with open(send_path, "rb") as handle:
                data = handle.read(endpoint.max_size + 1)
            if len(data) > endpoint.max_size:
                raise MessageTooLarge(f"{send_path} is larger than one datagram "
                                      f"({endpoint.max_size} bytes)")
            relay_datagrams(endpoint, [_to_crlf(data) if crlf else data], out, wait)
            return
        lines = (_to_crlf(line) if crlf else line for line in sys.stdin.buffer)
        relay_datagrams(endpoint, lines, out, wait)
