"""``ScriptProcess``: one running CGI script, driven without threads and without deadlock.

The script's stdin, stdout and stderr are non-blocking pipes serviced by one ``selectors`` loop
inside :meth:`ScriptProcess.read`: the request body is written as the script accepts it, stdout
is returned to the caller in bounded pieces, and stderr is drained continuously into a bounded
tail (a script that floods stderr can neither block on a full pipe nor fill our memory, C06).
Writing all of stdin before reading stdout, as CPython's ``run_cgi`` did, deadlocks as soon as a
script answers before it has read its whole input and the answer outgrows the pipe buffer.

The script runs in its own session, so a timeout or a client that went away kills the whole
process group (a shell script's children included) with one ``killpg``, and :meth:`close`
always reaps the child: no zombies, no leaked descriptors.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from wirekit.errors import Timeout

__all__ = ["ScriptProcess"]

_PIPE_CHUNK = 64 * 1024
# After stdout ends, how long a script may take to exit before its group is killed.
_EXIT_GRACE = 1.0


class ScriptProcess:
    """Start ``argv`` with exactly ``env``; feed it ``body``; read its stdout with a deadline.

    Raises ``OSError`` from the constructor when the script cannot be executed.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[bytes, bytes],
        cwd: Path,
        body: Iterator[bytes] | None,
        timeout: float,
        max_stderr: int = 8 * 1024,
    ) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.max_stderr = max_stderr
        self.stderr_tail = bytearray()
        self.stderr_total = 0
        self.timed_out = False
        self._body = body
        self._pending = b""
        self.proc = subprocess.Popen(  # argv list, no shell (C03); env replaces ours (C04)
            list(argv), stdin=subprocess.PIPE if body is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(env), cwd=cwd,
            close_fds=True, start_new_session=True)
        self._selector = selectors.DefaultSelector()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                os.set_blocking(pipe.fileno(), False)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._stdout = self.proc.stdout.fileno()
        self._stderr = self.proc.stderr.fileno()
        self._selector.register(self._stdout, selectors.EVENT_READ)
        self._selector.register(self._stderr, selectors.EVENT_READ)
        self._stdin: int | None = None
        if self.proc.stdin is not None:
            self._stdin = self.proc.stdin.fileno()
            self._selector.register(self._stdin, selectors.EVENT_WRITE)
        self._stdout_open = True

    # -- the loop ----------------------------------------------------------------------------
    def read(self, size: int = _PIPE_CHUNK) -> bytes:
        """Up to ``size`` bytes of stdout (``b""`` at its end); raises :class:`Timeout`."""
        while self._stdout_open:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.timed_out = True
                self.kill()
                raise Timeout("CGI script run", self.timeout)
            for key, _ in self._selector.select(remaining):
                fd = key.fd
                if fd == self._stdin:
                    self._write_stdin()
                elif fd == self._stderr:
                    self._read_stderr()
                elif fd == self._stdout:
                    try:
                        data = os.read(fd, size)
                    except BlockingIOError:  # pragma: no cover - spurious wakeup
                        continue
                    if data:
                        return data
                    self._selector.unregister(fd)
                    self._stdout_open = False
        return b""

    def _read_stderr(self) -> None:
        try:
            data = os.read(self._stderr, _PIPE_CHUNK)
        except BlockingIOError:  # pragma: no cover - spurious wakeup
            return
        if not data:
            self._selector.unregister(self._stderr)
            return
        self.stderr_total += len(data)
        tail = self.stderr_tail
        tail += data
        if len(tail) > self.max_stderr:
            del tail[: len(tail) - self.max_stderr]

    def _write_stdin(self) -> None:
        """Write what the script will take now; fetch the next piece of the body when done."""
        assert self._stdin is not None
        if not self._pending:
            chunk = next(self._body, None) if self._body is not None else None
            if chunk is None:
                self._close_stdin()
                return
            self._pending = chunk
        try:
            written = os.write(self._stdin, self._pending[:_PIPE_CHUNK])
        except BlockingIOError:  # pragma: no cover - spurious wakeup
            return
        except (BrokenPipeError, ConnectionResetError):
            # The script exited or closed stdin without reading it all: its choice (RFC 3875
            # §4.2 lets a script ignore its input). The server discards the unread rest.
            self._close_stdin()
            return
        self._pending = self._pending[written:]

    def _close_stdin(self) -> None:
        if self._stdin is not None:
            self._selector.unregister(self._stdin)
            self._stdin = None
            assert self.proc.stdin is not None
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self._pending = b""
        self._body = None

    # -- ending ------------------------------------------------------------------------------
    def kill(self) -> None:
        """SIGKILL the script's whole process group."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def _exited(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the script to exit *without reaping it*: while the dead
        leader is unreaped its pid, which is also its process group id, cannot be reused, so
        the ``killpg`` that follows can only reach the script's own group."""
        pid = self.proc.pid
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):  # pragma: no cover - kernels before 5.3
            pidfd = None
        if pidfd is not None:
            with contextlib.closing(selectors.DefaultSelector()) as waiter:
                waiter.register(pidfd, selectors.EVENT_READ)
                ready = bool(waiter.select(timeout))
            os.close(pidfd)
            return ready
        end = time.monotonic() + timeout  # pragma: no cover - fallback
        while True:  # pragma: no cover
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None:
                return True
            if time.monotonic() >= end:
                return False
            time.sleep(0.01)

    def close(self, complete: bool = False) -> int:
        """Stop feeding it, give it a moment to exit, kill what is left, reap; the exit code.

        ``complete``: its whole response was read (up to its Content-Length, which may come
        before its stdout closes), so it gets the same moment to exit as at end of output."""
        self._close_stdin()
        if self.proc.returncode is None:
            # A script whose output was read to the end gets a moment to exit on its own; one
            # we stopped listening to (client gone, HEAD, timeout) is killed at once.
            grace = _EXIT_GRACE if complete or not self._stdout_open else 0.0
            self._exited(max(0.0, min(grace, self.deadline - time.monotonic())))
            # Kill the rest of the group too: a shell script's background jobs would hold our
            # pipes open, and nothing the script started may outlive the request.
            self.kill()
        code = self.proc.wait()
        self._selector.close()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        return code
