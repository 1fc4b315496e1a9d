"""The asyncio driver: connection cores on the event loop, their work on worker threads.

I/O stays on the loop (uvloop when installed), where a thousand slow or idle clients cost a
few kilobytes each and no thread; the work a core hands off (a WSGI application) runs on a
bounded pool of threads, so an application that blocks (a database call, ``time.sleep``)
delays only its own request. This is granian's split, and the reason it is the default HTTP
mode (``docs/http-server.md``).

Method names match the blocking driver's (``send``, ``run``, ``set_deadline``, ``close``,
``abort``, and ``recv``/``send`` for work), so the two read side by side.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, cast

from wirekit.errors import ConnectionClosed, Timeout
from wirekit.net.oserrors import translate
from wirekit.server.connlog import ConnectionRecord, logger
from wirekit.server.core import ConnectionCore, Work

__all__ = ["LoopShell", "WorkerPool"]

# Bytes that arrive while work runs are queued for it; past this the socket is not read.
_INBOX_HIGH = 1 << 20
# A worker thread writing through the loop waits for it after this many bytes.
_FLUSH_EVERY = 256 * 1024


class WorkerPool:
    """Threads that run cores' work, started on demand up to ``size``. Finished work is
    handed back to the loop in batches: one loop wake-up for however many finished since
    the last one."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int,
                 name: str = "wirekit-work") -> None:
        self.loop, self.size, self.name = loop, size, name
        self.jobs: queue.SimpleQueue[tuple[LoopShell, Work] | None] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.busy = 0  # changed on the loop's thread only
        self.finished: deque[tuple[LoopShell, Work]] = deque()
        self.scheduled = False

    def submit(self, shell: LoopShell, work: Work) -> None:
        self.busy += 1
        if self.busy > len(self.threads) < self.size:
            thread = threading.Thread(target=self._work, daemon=True,
                                      name=f"{self.name}-{len(self.threads) + 1}")
            self.threads.append(thread)
            thread.start()
        self.jobs.put((shell, work))

    def _work(self) -> None:
        jobs, finished, loop = self.jobs, self.finished, self.loop
        while (job := jobs.get()) is not None:
            shell, work = job
            work(shell.work_io)  # Work keeps what it returned or raised
            finished.append(job)
            if not self.scheduled:
                self.scheduled = True
                try:
                    loop.call_soon_threadsafe(self._deliver)
                except RuntimeError:  # the loop is closed: nobody is waiting any more
                    return

    def _deliver(self) -> None:
        """(Loop) hand finished work back to its connections, in the order it finished."""
        self.scheduled = False  # before popping: a job finishing now schedules a new round
        finished = self.finished
        while finished:
            shell, work = finished.popleft()
            self.busy -= 1
            shell.work_finished(work)

    def stop(self) -> None:
        for _ in self.threads:
            self.jobs.put(None)


class ThreadIO:
    """A core's work's blocking I/O, from a worker thread: reads come from the bytes the
    loop queued, writes are handed to the loop with flow control (SECURITY.md L05).

    A file may go from the worker straight to the socket (``zero_copy``), through a
    duplicate of the socket's descriptor that the loop closes only once no work runs: a
    socket the loop closes meanwhile cannot be confused with a new connection that was given
    the same number.

    Writes are otherwise handed to the loop, not made from the worker: a worker that
    releases the GIL for a system call must win it back from the busy loop, and measured,
    that costs more than the write (hello world: 28k -> 20k requests/s).
    """

    __slots__ = ("consumed", "direct", "flushed", "sent_direct", "shell", "unflushed")

    def __init__(self, shell: LoopShell) -> None:
        self.shell = shell
        self.flushed: threading.Event | None = None  # made on the first flush (most never)
        self.unflushed = 0
        self.consumed = 0
        self.direct = -1  # the duplicate descriptor, once made (never under TLS)
        self.sent_direct = 0  # by the worker; added to the shell's count on the loop

    def recv(self, timeout: float | None) -> bytes:
        shell = self.shell
        try:
            data = shell.inbox.get(timeout=timeout)
        except queue.Empty:
            raise Timeout("read", timeout) from None
        if data is None:
            raise ConnectionClosed("the client closed the connection")
        self.consumed += len(data)
        if shell.inbox_paused:
            shell.loop.call_soon_threadsafe(shell.inbox_drained)
        return data

    def zero_copy(self, file: Any, offset: int, count: int) -> int:
        """``sendfile(2)`` from this thread straight to the socket, while nothing is queued
        before it, for as long as the socket takes it without waiting; the bytes sent (fewer
        than ``count`` when the peer is slower, and 0 under TLS). The caller sends the rest
        through the loop, whose flow control then paces it: a slow reader holds no
        thread."""
        if not self._written_out():
            return 0
        shell, source, sent = self.shell, file.fileno(), 0
        try:
            while sent < count and not shell.closing:
                done = os.sendfile(self.direct, source, offset + sent, count - sent)
                if done == 0:
                    break  # the file ended early: the caller finds out
                sent += done
        except BlockingIOError:
            pass  # the socket is full: the rest goes through the loop
        except OSError as exc:
            raise translate(exc, "send", shell.write_timeout) from exc
        self.sent_direct += sent
        return sent

    def _written_out(self) -> bool:
        """Wait until the loop has handed everything queued to the kernel (and made the
        duplicate descriptor); False if its transport still buffers some (the socket is
        full), under TLS, or on timeout."""
        shell, done, ready = self.shell, threading.Event(), []

        def check() -> None:
            shell.flush_outbox()
            if self.direct < 0 and not shell.closing:
                self.direct = shell.duplicate_socket()
            ready.append(self.direct >= 0 and not shell.closing
                         and shell.transport.get_write_buffer_size() == 0)
            done.set()

        shell.loop.call_soon_threadsafe(check)
        return done.wait(shell.write_timeout) and ready[0]

    def send(self, data: bytes | memoryview) -> None:
        shell = self.shell
        if shell.closing:
            raise ConnectionClosed("the client closed the connection")
        if type(data) is not bytes:
            data = bytes(data)  # the loop may keep it: the caller may reuse its buffer
        shell.outbox.append(data)  # in order with what the loop sends after the work
        shell.loop.call_soon_threadsafe(shell.flush_outbox)
        self.unflushed += len(data)
        if self.unflushed >= _FLUSH_EVERY:
            self.unflushed = 0
            flushed = self.flushed = self.flushed or threading.Event()
            flushed.clear()
            shell.loop.call_soon_threadsafe(shell.flush_for, flushed)
            timeout = shell.write_timeout
            if not flushed.wait(timeout):
                raise Timeout("send", timeout)
            if shell.closing:
                raise ConnectionClosed("the client closed the connection")


class LoopShell(asyncio.Protocol):
    """Runs one :class:`ConnectionCore` from the event loop's callbacks."""

    def __init__(self, core: ConnectionCore | None, pool: WorkerPool,
                 done: Callable[[LoopShell], None], write_timeout: float | None,
                 admit: Callable[[LoopShell, asyncio.Transport], ConnectionCore | None]
                 | None = None) -> None:
        """``core`` is the connection's core, or None to have ``admit(shell, transport)``
        make it once the connection is up (None from it: refused, the transport closed)."""
        # None only until connection_made admits the connection; a core from then on.
        self.core: ConnectionCore = core  # type: ignore[assignment]  # None only until admitted
        self.pool, self.done, self.admit = pool, done, admit
        self.loop = pool.loop
        self.now = self.loop.time
        self.write_timeout = write_timeout
        # Set by connection_made, which asyncio calls before any other callback.
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # not yet up
        self.bytes_in = self.bytes_out = 0
        self.working = False
        self.closing = False
        self.lingering = False
        self.writing_paused = False
        self.inbox_paused = False
        self.received_while_working = 0
        self._inbox: queue.SimpleQueue[bytes | None] | None = None
        self._io: ThreadIO | None = None
        self.queued_while_working = False  # the inbox may hold bytes or EOF
        self.deadline: float | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = 0.0
        self.flush_waiters: list[threading.Event] = []
        self.stop_pending = False
        self.outbox: deque[bytes] = deque()  # written by work, sent by the loop
        self.lost: tuple[BaseException | None] | None = None  # lost while work ran

    @property
    def inbox(self) -> queue.SimpleQueue[bytes | None]:
        if self._inbox is None:
            self._inbox = queue.SimpleQueue()
        return self._inbox

    @property
    def work_io(self) -> ThreadIO:
        return self._io or self._start_work_io()

    def _start_work_io(self) -> ThreadIO:
        """(Loop) the first work of this connection: its I/O and inbox."""
        self._inbox = queue.SimpleQueue()  # made here, before any worker reads it
        self._io = ThreadIO(self)
        return self._io

    def duplicate_socket(self) -> int:
        """(Loop) a duplicate of a plain socket's descriptor for a worker's ``sendfile(2)``
        (closed in ``_lost``); -1 under TLS or without a socket."""
        transport = self.transport
        sock = transport.get_extra_info("socket")
        if sock is None or transport.get_extra_info("sslcontext") is not None:
            return -1
        try:
            return os.dup(sock.fileno())
        except OSError:
            return -1

    # -- asyncio callbacks ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream's: TCP or Unix
        if self.core is None:
            core = self.admit(self, self.transport) if self.admit is not None else None
            if core is None:
                self.closing = True  # refused: admit() closed it; no core, no log line
                return
            self.core = core
        self.record = ConnectionRecord(self.core.client_address)
        self._call(self.core.setup)
        self._call(self.core.connection_made, self)

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        if self.working:
            self.inbox.put(data)
            self.queued_while_working = True
            self.received_while_working += len(data)
            if self._backlog() > _INBOX_HIGH and not self.inbox_paused:
                self.inbox_paused = True
                self.transport.pause_reading()
        elif not self.closing:
            try:
                self.core.data_received(data)
            except Exception:
                self._core_failed()

    def eof_received(self) -> bool:
        if self.lingering:
            return False  # the refused client is done too: close
        if self.working:
            self.inbox.put(b"")
            self.queued_while_working = True
        elif not self.closing:
            self._call(self.core.eof_received)
        return True  # our side stays open until the core closes it

    def pause_writing(self) -> None:
        # The client does not read what we send: stop reading what it sends as well.
        self.writing_paused = True
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.writing_paused = False
        for event in self.flush_waiters:
            event.set()
        self.flush_waiters.clear()
        if not self.inbox_paused and not self.closing:
            self.transport.resume_reading()
        if not self.working and not self.closing:
            self._call(self.core.writable)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.core is None:
            return  # refused at admission
        self.closing = True
        if self.timer is not None:
            self.timer.cancel()
        for event in self.flush_waiters:
            event.set()  # a worker waiting on flow control wakes; its next write fails
        self.flush_waiters.clear()
        if self.working:  # the core is the work's until it ends: tell it then
            self.inbox.put(None)
            self.lost = (exc,)
            return
        self._lost(exc)

    def _lost(self, exc: BaseException | None) -> None:
        core = self.core
        if self._io is not None and self._io.direct >= 0:
            os.close(self._io.direct)  # no work runs any more: nobody writes to it
            self._io.direct = -1
        if exc is not None and core.outcome == "closed":
            core.outcome = "disconnected by the client"
        try:
            core.connection_lost()
            core.finish()
        except Exception:
            logger.exception("a core's connection_lost() or finish() raised for client %s",
                             core.client_address)
        self.record.log(core.outcome, self.bytes_in, self.bytes_out, core.level)
        self.done(self)

    # -- Shell ------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        if not self.closing:
            self.bytes_out += len(data)
            self.transport.write(data)

    def run(self, work: Work) -> None:
        self.working = True
        io = self._io or self._start_work_io()
        self.received_while_working = io.consumed = 0
        self.pool.submit(self, work)

    def set_deadline(self, when: float | None) -> None:
        """One timer per connection, moved lazily: a later deadline is noted and the timer
        re-arms itself when it fires (a keep-alive request costs no timer operation)."""
        self.deadline = when
        if when is not None and (self.timer is None or when < self.timer_at):
            if self.timer is not None:
                self.timer.cancel()
            self.timer, self.timer_at = self.loop.call_at(when, self._on_timer), when

    def start_tls(self) -> None:
        self.transport.pause_reading()
        self.loop.create_task(self._start_tls())

    def close(self, linger: float = 0.0) -> None:
        if self.closing:
            return
        self.closing = True
        transport = self.transport
        if transport is None:
            return
        if linger and transport.can_write_eof() and \
                transport.get_extra_info("sslcontext") is None:
            # Lingering close: the client still sending reads our answer, not a reset.
            self.lingering = True
            transport.write_eof()
            transport.resume_reading()
            self.loop.call_later(linger, transport.close)
        else:
            transport.close()

    def abort(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    # -- from the worker pool ---------------------------------------------------------------
    def work_finished(self, work: Work) -> None:
        self.working = False
        io = self._io
        if io is not None and io.sent_direct:
            self.bytes_out += io.sent_direct
            io.sent_direct = 0
        if self.outbox:
            self.flush_outbox()
        if self.lost is not None:
            self._lost(self.lost[0])
            return
        try:
            self.core.work_done(work)
        except Exception:
            self._core_failed()
        if self.stop_pending and not self.working:
            self.stop_pending = False
            self._call(self.core.stop)
        if self.queued_while_working:
            self._feed_inbox()
        elif self.inbox_paused and not self.working:
            self.inbox_drained()

    def request_stop(self) -> None:
        """(Loop) the server stops: the core is told now, or once its work is done."""
        if self.working:
            self.stop_pending = True
        elif not self.closing:
            self._call(self.core.stop)

    def flush_outbox(self) -> None:
        """(Loop) send what work wrote, in order."""
        outbox = self.outbox
        while outbox:
            self.send(outbox.popleft())

    def _feed_inbox(self) -> None:
        """Bytes that arrived while work ran, in order, once the core is free again."""
        inbox = self._inbox
        while inbox is not None and not self.working and not self.closing:
            try:
                data = inbox.get_nowait()
            except queue.Empty:
                self.queued_while_working = False
                break
            if data is None:
                return
            if data:
                self._call(self.core.data_received, data)
            else:
                self._call(self.core.eof_received)
        if not self.working:
            self.inbox_drained()

    def inbox_drained(self) -> None:
        """(Loop) resume reading once the queued bytes went below half the bound."""
        if self.inbox_paused and (not self.working or self._backlog() < _INBOX_HIGH // 2):
            self.inbox_paused = False
            if not self.closing and not self.writing_paused:
                self.transport.resume_reading()

    def _backlog(self) -> int:
        return self.received_while_working - (self._io.consumed if self._io else 0)

    def flush_for(self, event: threading.Event) -> None:
        """(Loop) set ``event`` once the transport takes more (a worker's flow control)."""
        self.flush_outbox()
        if self.writing_paused and not self.closing:
            self.flush_waiters.append(event)
        else:
            event.set()

    # -- internals --------------------------------------------------------------------------
    def _on_timer(self) -> None:
        self.timer = None
        when = self.deadline
        if when is None or self.closing or self.working:
            return
        if self.loop.time() < when:
            self.timer, self.timer_at = self.loop.call_at(when, self._on_timer), when
            return
        self.deadline = None
        self._call(self.core.deadline_reached)

    async def _start_tls(self) -> None:
        transport, tls = self.transport, self.core.server.tls
        if tls is None:
            raise RuntimeError("start_tls() needs a server with a TLS context")
        try:
            new = await self.loop.start_tls(transport, self, tls,
                                            server_side=True)
        except Exception as exc:
            self.core.outcome = f"TLS handshake failed ({exc})"
            self.abort()
            return
        if new is None:
            return
        self.transport = new
        new.resume_reading()

    def _call(self, method: Callable[..., Any], *args: Any) -> None:
        """A core's callback; a core that raises is a bug: logged, and the connection ends."""
        try:
            method(*args)
        except Exception:
            self._core_failed()

    def _core_failed(self) -> None:
        logger.log(logging.ERROR, "connection core %s raised for client %s",
                   type(self.core).__name__, self.core.client_address, exc_info=True)
        self.core.outcome = "handler error"
        self.abort()
