"""The servers the demo runs beside its web site, so every socket topic has something to talk to.

``wirekit serve`` with no arguments starts them on the web site's host, each on its usual
port, or on any free port when that one is taken (a second demo, a real service)::

    mail    the mail catcher (SMTP, 8025), filling a temporary Maildir shown at /mail/
    echo    the echo server of slides 1-29..1-31, TCP and UDP (7007)
    time    the time server of slide 1-22 (8037): it sends the time and closes
    ftp     with pyftpdlib, a read-only anonymous FTP server of the site's files/ (2121)

:func:`demo_services` starts them and stops them all on exit, whatever happened; the
addresses it yields are what the pages show, so a command copied from a page reaches them.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from wirekit.demo.ftp import DEFAULT_FTP_PORT, demo_ftp_server
from wirekit.errors import ConfigError
from wirekit.mail import MaildirStore, MailServer
from wirekit.server import Server
from wirekit.server.services import DatagramEchoHandler, EchoHandler, TimeHandler

__all__ = ["DEFAULT_PORTS", "DemoServices", "demo_services", "start_server"]

#: The port each service tries first.
DEFAULT_PORTS = {"mail": 8025, "echo": 7007, "time": 8037, "ftp": DEFAULT_FTP_PORT}


@dataclass(frozen=True)
class DemoServices:
    """Where the demo's servers listen (``host:port`` each) and the catcher's Maildir."""

    mail: str
    echo: str
    time: str
    store: MaildirStore
    ftp: str | None = None  # None without pyftpdlib (the ftp-server extra)


class _Running(Protocol):
    @property
    def address(self) -> object: ...
    def start(self) -> object: ...
    def shutdown(self, timeout: float = ...) -> object: ...


@contextlib.contextmanager
def demo_services(host: str = "127.0.0.1", *, ports: dict[str, int] | None = None,
                  udp_echo: bool = True) -> Iterator[DemoServices]:
    """Start the mail catcher, the echo server (TCP and, with ``udp_echo``, UDP on the same
    port number), the time server and (with pyftpdlib) the FTP server on ``host``; stop
    them all when the block ends."""

    wanted = {**DEFAULT_PORTS, **(ports or {})}
    with tempfile.TemporaryDirectory(prefix="wirekit-demo-mail-") as folder, \
            contextlib.ExitStack() as running:
        store = MaildirStore(folder)
        mail = start_server(running, "mail catcher", host, wanted["mail"],
                      lambda address: MailServer(store, address))
        echo = start_server(running, "echo server", host, wanted["echo"],
                      lambda address: Server(EchoHandler, address))
        if udp_echo:  # the same port number over UDP, if it is free there; skipped if not
            with contextlib.suppress(OSError):
                start_server(running, "UDP echo server", host, _port(echo),
                       lambda address: Server(DatagramEchoHandler, address), fallback=False)
        time = start_server(running, "time server", host, wanted["time"],
                      lambda address: Server(TimeHandler, address))
        ftp = running.enter_context(demo_ftp_server(host, wanted["ftp"]))
        yield DemoServices(mail=mail, echo=echo, time=time, store=store, ftp=ftp)


def start_server(running: contextlib.ExitStack, what: str, host: str, port: int,
                 make: Callable[[str], _Running], *, fallback: bool = True) -> str:
    """Start ``make(address)`` on ``port``, or on a free port if that is taken (or 0); register
    its shutdown on ``running``; answer the address it listens on."""
    ports = (port, 0) if fallback and port else (port,)
    for candidate in ports:
        address = f"[{host}]:{candidate}" if ":" in host else f"{host}:{candidate}"
        try:
            server = make(address)
        except OSError:
            if candidate == ports[-1]:
                raise
            continue  # taken: any free port
        server.start()
        running.callback(server.shutdown, 5)
        return str(server.address)
    raise ConfigError(f"cannot start the demo's {what} on {host}")  # pragma: no cover


def _port(address: str) -> int:
    return int(address.rpartition(":")[2])
