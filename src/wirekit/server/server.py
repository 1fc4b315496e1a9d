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
import socket
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
from wirekit.server.proxied import ProxiedConnection
from wirekit.server.waker import Waker

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
        self.stopping = threading.Event()
        self.stopped = threading.Event()
        # True once a stop was asked for: a plain attribute, cheap enough for hot loops to
        # read on every message (``stopping`` is the Event to wait on).
        self.stop_requested = False
        self.waker = Waker()
        self._stop_pipe: tuple[int, int, int] | None = None  # (pid, read fd, write fd)
        self._active: set[Any] = set()
        # Re-entrant: the second-signal handler may run while this thread holds it.
        self._active_lock = threading.RLock()
        self.recycling = False  # stopping because the connection budget is spent
        self._thread: threading.Thread | None = None
        # Connections this process may still accept before it stops (prefork max_requests).
        self.connection_budget: int | None = None
        # How often loops wake to call heartbeat() and housekeeping, at most.
        self.tick_interval = 1.0

    def core_for(self, client: Address) -> Any:
        """The connection core for a new connection from ``client``: the handler's own, or,
        from a load balancer named in ``proxy_protocol_from``, one that first reads its
        PROXY header (``server/proxied.py``)."""
        if self.proxy_policy is not None and self.proxy_policy.permits(client):
            return ProxiedConnection(client, self)
        return self.handler(client, self)

    def stop_signal(self) -> int:
        """A file descriptor that becomes readable once a stop is requested (and stays so),
        for blocking drivers to wait on beside their socket. Made per process: a forked
        worker's stop is its own."""
        pid = os.getpid()
        with self._active_lock:
            if self._stop_pipe is None or self._stop_pipe[0] != pid:
                read_fd, write_fd = os.pipe()
                self._stop_pipe = (pid, read_fd, write_fd)
                if self.stop_requested:
                    os.write(write_fd, b"!")
            return self._stop_pipe[1]

    def process_ending(self) -> None:
        """Called in each serving process as it stops (after its last connection): write out
        what is buffered (the HTTP server's access log)."""

    def heartbeat(self) -> None:
        """Called by accept loops at least once a second; prefork workers report liveness."""

    def recycle(self) -> None:
        """Stop after the connections in hand: their first requests are still served."""
        self.recycling = True
        self.request_stop()

    def spend_connection_budget(self) -> bool:
        """Count one accepted connection; True when the budget is now used up."""
        if self.connection_budget is None:
            return False
        self.connection_budget -= 1
        return self.connection_budget <= 0

    # -- policy ---------------------------------------------------------------------------
    def permits(self, client: Address) -> bool:
        return self.policy.open or self.policy.permits(client)

    @property
    def is_async(self) -> bool:
        return issubclass(self.handler, AsyncStreamHandler)

    # -- tracking connections for a forced close after the grace period ---------------------
    def track(self, stream: Any) -> None:
        with self._active_lock:
            self._active.add(stream)

    def untrack(self, stream: Any) -> None:
        with self._active_lock:
            self._active.discard(stream)

    @property
    def active_connections(self) -> int:
        with self._active_lock:
            return len(self._active)

    def close_idle_connections(self) -> int:
        """At shutdown: end connections waiting between messages (nothing in flight). A worker
        being recycled spares those still waiting for their first message, and serves it.

        Only their read side is shut: the handler's blocked read sees the end of input and it
        ends as if the client had left, while a reply still being written goes out whole (a
        pass-through connection stays marked idle while it answers; see ``runner``)."""
        return self._shut(socket.SHUT_RD, only_idle=True)

    def force_close_active(self) -> int:
        """Shut down every tracked connection (unblocks handlers stuck in a read or write)."""
        return self._shut(socket.SHUT_RDWR, only_idle=False)

    def _shut(self, how: int, only_idle: bool) -> int:
        with self._active_lock:
            streams = [s for s in self._active if not only_idle
                       or (s.idle and (s.served or not self.recycling))]
        for stream in streams:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, even under TLS: ssl.SSLSocket.shutdown() would
                # drop the TLS state under a thread that may still be writing.
                socket.socket.shutdown(stream.socket, how)
        return len(streams)

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
            self.stopped.set()
            logger.info("stopped serving on %s", self.address)

    def start(self) -> Server:
        """Serve in a background thread (for embedding and tests); returns ``self``."""
        self._thread = threading.Thread(target=self.serve_forever, name="wirekit-server",
                                        daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask the server to stop; returns at once.

        Safe from signal handlers, including a second signal whose handler runs inside the
        first: only the first call touches the Event (whose lock is not re-entrant)."""
        if not self.stop_requested:
            self.stop_requested = True
            self.stopping.set()
            pipe = self._stop_pipe
            if pipe is not None and pipe[0] == os.getpid():
                with contextlib.suppress(OSError):
                    os.write(pipe[2], b"!")
        self.waker.wake()

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop accepting, let running handlers finish, and wait until the server stopped."""
        self.request_stop()
        if self._thread is not threading.current_thread():
            grace = self.timeouts.shutdown_grace or 30.0
            self.stopped.wait(timeout if timeout is not None else grace + 5)

    def close_listener(self) -> None:
        """Close the listening socket so new connects are refused at once."""
        for endpoint in (self.listener, self.datagram):
            if endpoint is not None:
                with contextlib.suppress(OSError):
                    endpoint.close()

    def close(self) -> None:
        self.close_listener()
        self.waker.close()
        pipe, self._stop_pipe = self._stop_pipe, None
        if pipe is not None and pipe[0] == os.getpid():
            for fd in pipe[1:]:
                with contextlib.suppress(OSError):
                    os.close(fd)

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
            if self.stopping.is_set():
                logger.warning("second signal: closing remaining connections now")
                self.force_close_active()
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
