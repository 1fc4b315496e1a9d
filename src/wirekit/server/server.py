"""``Server``: one server over TCP, UDP and Unix sockets; concurrency is a parameter.

    server = Server(EchoHandler, "127.0.0.1:8000", concurrency="threads")
    server.serve_forever()            # until SIGTERM/SIGINT or server.shutdown()

The socket is bound when the ``Server`` is created (``server.address`` then shows the real
port), the transport follows the handler (a :class:`DatagramHandler` means UDP or Unix
datagrams), and the concurrency mode decides how handlers run. Shutdown is graceful: stop
accepting (new connects are refused at once), let running handlers finish within
``timeouts.shutdown_grace``, then close what is left.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import ssl
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from wirekit.config import DEFAULT_LIMITS, DEFAULT_TIMEOUTS, Limits, Timeouts
from wirekit.errors import ConfigError
from wirekit.net.address import Address, AddressLike
from wirekit.net.datagram import DatagramEndpoint
from wirekit.net.listener import Listener, listen
from wirekit.server.access import OPEN, AccessPolicy
from wirekit.server.connlog import logger
from wirekit.server.core import ConnectionCore
from wirekit.server.handlers import AsyncStreamHandler, DatagramHandler, Handler
from wirekit.server.modes import Mode, Prefork, make_mode
from wirekit.server.process import ServingProcess
from wirekit.server.proxied import ProxiedConnection

__all__ = ["Server"]


class Server:
    """Serve ``handler`` on ``address`` with the given concurrency mode.

    ``concurrency`` is ``"sync"``, ``"threads"``, ``"fork"``, ``"prefork"`` or ``"async"``, or a
    configured mode object (``Threads(max_workers=16)``, ``Prefork(workers=4)``...); ``workers``
    sets the size of the pool or the number of processes for the named modes.
    """

    def __init__(
        self,
        handler: type[Handler],
        address: AddressLike = "127.0.0.1:0",
        *,
        concurrency: str | Mode = "threads",
        workers: int | None = None,
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
        verify: Callable[[Address], bool] | None = None,
        tls: ssl.SSLContext | None = None,
        starttls: bool = False,
        proxy_protocol_from: Iterable[str] = (),
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        limits: Limits = DEFAULT_LIMITS,
        reuse_port: bool = False,
        unix_mode: int = 0o600,
    ) -> None:
        if not (isinstance(handler, type) and issubclass(handler, Handler)):
            raise ConfigError(f"handler must be a Handler subclass, got {handler!r}")
        self.handler = handler
        self.mode = make_mode(concurrency, workers)
        self.mode.check_handler(handler)
        self.policy = AccessPolicy.of(allow, deny, verify) if (allow or deny or verify) else OPEN
        self.tls = tls
        # With starttls, ``tls`` is for cores that upgrade mid-connection (SMTP's STARTTLS):
        # connections start in the clear. Otherwise TLS starts as soon as they are accepted.
        self.starttls = starttls
        self.accept_tls = None if starttls else tls
        # Load balancers whose connections start with a PROXY protocol header (opt-in).
        proxies = tuple(proxy_protocol_from)
        if proxies and not issubclass(handler, ConnectionCore):
            raise ConfigError("proxy_protocol_from needs a connection core (e.g. the HTTP "
                              "server), not a plain handler")
        self.proxy_policy = AccessPolicy.of(allow=proxies) if proxies else None
        self.timeouts = timeouts
        self.limits = limits
        # A connection that stays silent for `idle` seconds is closed (each read is bounded).
        self.connection_timeouts = dataclasses.replace(timeouts, read=timeouts.idle)
        self.reuse_port = reuse_port
        self.listener: Listener | None = None
        self.datagram: DatagramEndpoint | None = None
        addr = Address.of(address)
        if issubclass(handler, DatagramHandler):
            if tls is not None:
                raise ConfigError("TLS is not available for datagram servers")
            self.datagram = DatagramEndpoint.bind(addr, mode=unix_mode,
                                                  max_size=limits.max_datagram)
            self.address = self.datagram.address
        else:
            self.listener = listen(addr, reuse_port=reuse_port, mode=unix_mode,
                                   timeouts=timeouts, limits=limits)
            self.address = self.listener.address
        self._thread: threading.Thread | None = None
        # The serving state of this process (stop, waker, open connections...); a process a
        # mode forks makes its own with ``begin_process`` (``server/process.py``).
        self.process = ServingProcess(self.listener)

    def core_for(self, client: Address) -> Any:
        """The connection core for a new connection from ``client``: the handler's own, or,
        from a load balancer named in ``proxy_protocol_from``, one that first reads its
        PROXY header (``server/proxied.py``)."""
        if self.proxy_policy is not None and self.proxy_policy.permits(client):
            return ProxiedConnection(client, self)
        return self.handler(client, self)

    def begin_process(self, process: ServingProcess) -> ServingProcess:
        """In a process a mode has just forked: serve with ``process``, this process's own
        state, instead of the copy inherited from the parent (whose waker and stop belong to
        the parent). Returns it."""
        self.process = process
        return process

    def process_ending(self) -> None:
        """Called in each serving process as it stops (after its last connection): write out
        what is buffered (the HTTP server's access log)."""

    # -- policy ---------------------------------------------------------------------------
    def permits(self, client: Address) -> bool:
        return self.policy.open or self.policy.permits(client)

    @property
    def is_async(self) -> bool:
        return issubclass(self.handler, AsyncStreamHandler)

    @property
    def active_connections(self) -> int:
        """Connections this process's blocking drivers serve now."""
        return self.process.active_connections

    @property
    def stopped(self) -> threading.Event:
        """Set once :meth:`serve_forever` has returned."""
        return self.process.stopped

    # -- running --------------------------------------------------------------------------
    def serve_forever(self, ready: Callable[[], None] | None = None) -> None:
        """Serve until :meth:`shutdown` or SIGTERM/SIGINT (when run in the main thread).

        ``ready`` is called once signal handlers are in place, so whatever it announces can be
        stopped cleanly at once."""
        restore = self._install_signals()
        if ready is not None:
            ready()
        logger.info("serving %s on %s (%s)", self.handler.__name__, self.address, self.mode)
        try:
            self.mode.serve(self)
        finally:
            restore()
            self.process_ending()
            self.close()
            self.process.stopped.set()
            logger.info("stopped serving on %s", self.address)

    def start(self) -> Server:
        """Serve in a background thread (for embedding and tests); returns ``self``."""
        self._thread = threading.Thread(target=self.serve_forever, name="wirekit-server",
                                        daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask the server to stop; returns at once (safe from signal handlers)."""
        self.process.request_stop()

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop accepting, let running handlers finish, and wait until the server stopped."""
        self.request_stop()
        if self._thread is not threading.current_thread():
            grace = self.timeouts.shutdown_grace or 30.0
            self.stopped.wait(timeout if timeout is not None else grace + 5)

    def close_listener(self) -> None:
        """Close the listening socket (this process's) so new connects are refused at once."""
        self.process.close_listener()
        if self.datagram is not None:
            with contextlib.suppress(OSError):
                self.datagram.close()

    def close(self) -> None:
        self.close_listener()
        self.process.close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"<Server {self.handler.__name__} on {self.address} ({self.mode})>"

    # -- signals --------------------------------------------------------------------------
    def _install_signals(self) -> Callable[[], None]:
        """SIGTERM/SIGINT stop gracefully, saying what they wait for; a second one stops at
        once. SIGHUP reloads prefork workers and is a logged no-op in every other mode: it
        never kills the server (its default action would, leaving prefork workers unmanaged).
        """
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        owner = os.getpid()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if self.process.stopping.is_set():
                logger.warning("second signal: closing remaining connections now")
                self.process.force_close_active()
                self.mode.force_stop(self)
            else:
                logger.info("%s", stop_notice(signal.Signals(signum).name,
                                              self.mode.active_connections(self),
                                              self.timeouts.shutdown_grace))
            self.request_stop()

        def on_hangup(signum: int, frame: FrameType | None) -> None:
            if os.getpid() != owner:  # a forked child still on our handler: its parent decides
                return
            if isinstance(self.mode, Prefork):
                self.mode.request_reload(self)
            else:
                logger.warning("received SIGHUP: reload needs the prefork mode; ignored, "
                               "still serving (%s)", self.mode)

        handlers = {signal.SIGTERM: on_signal, signal.SIGINT: on_signal, signal.SIGHUP: on_hangup}
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore


def stop_notice(signame: str, connections: int, grace: float | None) -> str:
    """The line logged at the first SIGTERM/SIGINT: what the server waits for, how long at
    most, and how to stop it now."""
    if not connections:
        return f"received {signame}: no connection open; stopping"
    limit = "no time limit" if grace is None else f"up to {grace:g} s"
    again = "press Ctrl-C again" if signame == "SIGINT" else f"send {signame} again"
    return (f"received {signame}: finishing {connections} connection(s), {limit}; "
            f"{again} to stop now")
