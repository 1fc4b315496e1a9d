"""Signals: SIGTERM/SIGINT say what they wait for, SIGHUP reloads prefork workers and never
kills a server, and prefork workers never outlive their master.

Every server here runs as a subprocess in a session of its own, so a signal can go to the
whole process group (as a terminal sends Ctrl-C or a hang-up) without reaching pytest.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from wirekit.errors import ConnectError
from wirekit.net import connect

from .conftest import _read_banner

APP = """\
import logging, os, sys
from pathlib import Path
from wirekit.config import Timeouts
from wirekit.net import LineFramer
from wirekit.server import FramedHandler, Prefork, Server, StreamHandler
from wirekit.server.modes import prefork

scenario, arg = sys.argv[1], sys.argv[2]
logging.basicConfig(level="INFO", format="%(process)d %(levelname)s %(message)s")


class Held(StreamHandler):
    # "busy" once the connection is served, "done" after the client's second line.
    def handle(self):
        if self.stream.readline():
            self.stream.sendall(b"busy\\n")
            if self.stream.readline():
                self.stream.sendall(b"done\\n")


source = Path(arg)
version = source.read_text() if scenario == "reload" else ""


def reread():
    global version
    text = source.read_text()
    if text == "broken":
        raise RuntimeError("cannot parse the new configuration")
    version = text


def boot():
    if version == "crash":
        raise RuntimeError("the new version cannot start")


class Version(FramedHandler):
    framer = LineFramer

    def handle_message(self, message):
        return f"{version} {os.getpid()}".encode()


if scenario == "held":  # arg: the mode
    grace = None if os.environ.get("GRACE") == "none" else 30.0
    concurrency = Prefork(workers=2) if arg == "prefork" else arg
    server = Server(Held, concurrency=concurrency, timeouts=Timeouts(shutdown_grace=grace))
elif scenario == "reload":  # arg: the file on_reload reads
    workers = int(os.environ.get("WORKERS", "2"))
    server = Server(Version, concurrency=Prefork(workers=workers, on_reload=reread,
                                                 worker_init=boot))
else:  # "orphan", arg: how a worker learns that its master is gone
    if arg == "getppid":
        prefork.die_with_master = lambda: False  # as where prctl is not available
    server = Server(Version, concurrency=Prefork(workers=2))
server.serve_forever(ready=lambda: print(f"app: listening on tcp {server.address} (x)",
                                         flush=True))
"""


class Running:
    """A server subprocess in its own session; its stderr is collected as it arrives."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True, env={**os.environ, **(env or {})})
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        banner = _read_banner(self.proc)
        self.address = banner.split("listening on ", 1)[1].split()[1]
        self.master = psutil.Process(self.proc.pid)

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._lines.append(line.decode(errors="replace"))

    @property
    def log(self) -> str:
        return "".join(self._lines)

    def wait_log(self, text: str, timeout: float = 15) -> bool:
        """Wait until ``text`` was logged, or every process of the server closed stderr."""
        wait_until(lambda: text in self.log or not self._reader.is_alive(), timeout)
        return text in self.log

    def workers(self) -> set[int]:
        with contextlib.suppress(psutil.Error):
            return {child.pid for child in self.master.children()
                    if child.status() != psutil.STATUS_ZOMBIE}
        return set()

    def signal_group(self, sig: int) -> None:
        """As a terminal does: the master and every worker get it."""
        os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code


@pytest.fixture
def run() -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(*argv: str, env: dict[str, str] | None = None) -> Running:
        server = Running([sys.executable, *argv], env)
        started.append(server)
        return server

    yield start
    for server in started:  # the whole group: orphaned workers included
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.proc.pid, signal.SIGKILL)
        server.proc.wait(10)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "signals_app.py"
    path.write_text(APP)
    return path


def wait_until(predicate: Callable[[], object], timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def ask(address: str, line: bytes = b"x", timeout: float = 10) -> bytes:
    with connect(address, timeout=timeout) as stream:
        stream.sendall(line + b"\n")
        return stream.recv_until(b"\n", timeout=timeout, keep=False)


def gone(pid: int) -> bool:
    """Exited (a zombie nobody reaps counts as gone: it serves nothing)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


class Traffic:
    """Clients asking in a loop, a new connection per request, until stopped."""

    def __init__(self, address: str, clients: int = 4) -> None:
        self.address = address
        self.answered = 0
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, args=(n,)) for n in range(clients)]
        for thread in self._threads:
            thread.start()

    def _client(self, n: int) -> None:
        count = 0
        while not self._stop.is_set():
            message = f"client {n} request {count}".encode()
            count += 1
            try:
                assert ask(self.address, message) == message
            except BaseException as exc:  # every failure is the finding
                self.errors.append(exc)
                return
            with self._lock:
                self.answered += 1

    def wait_for(self, more: int, timeout: float = 20) -> bool:
        target = self.answered + more
        return wait_until(lambda: self.answered >= target or self.errors, timeout) \
            and not self.errors

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)


# -- SIGTERM / SIGINT: the first one says what it waits for -----------------------------------

def test_stop_notice_words() -> None:
    from wirekit.server.server import stop_notice

    assert stop_notice("SIGINT", 3, 30.0) == (
        "received SIGINT: finishing 3 connection(s), up to 30 s; press Ctrl-C again to stop now")
    assert stop_notice("SIGTERM", 1, None) == (
        "received SIGTERM: finishing 1 connection(s), no time limit; "
        "send SIGTERM again to stop now")
    assert stop_notice("SIGTERM", 0, 2.5) == "received SIGTERM: no connection open; stopping"


@pytest.mark.parametrize("mode", ["threads", "prefork"])
def test_first_ctrl_c_says_what_it_waits_for_then_lets_it_finish(run, app, mode):
    server = run(str(app), "held", mode)
    held = [connect(server.address, timeout=10) for _ in range(3)]
    for stream in held:
        stream.sendall(b"go\n")
        assert stream.recv_exactly(5) == b"busy\n"  # each one is being served now
    server.signal_group(signal.SIGINT)  # Ctrl-C: the prefork workers get it too
    expected = ("received SIGINT: finishing 3 connection(s), up to 30 s; "
                "press Ctrl-C again to stop now")
    assert server.wait_log(expected), server.log
    for stream in held:  # graceful: each running request still completes
        stream.sendall(b"finish\n")
        assert stream.recv_exactly(5) == b"done\n"
        stream.close()
    assert server.proc.wait(20) == 0  # on its own: the SIGINT is stopping it


def test_second_ctrl_c_stops_at_once_even_without_a_grace_limit(run, app):
    server = run(str(app), "held", "threads", env={"GRACE": "none"})
    held = connect(server.address, timeout=10)
    held.sendall(b"go\n")
    assert held.recv_exactly(5) == b"busy\n"
    server.proc.send_signal(signal.SIGINT)
    assert server.wait_log("finishing 1 connection(s), no time limit; press Ctrl-C again")
    started = time.monotonic()
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(10) == 0
    assert time.monotonic() - started < 5
    assert held.recv(timeout=5) == b""  # closed, not finished
    held.close()


# -- SIGHUP without prefork: a warning, and the server keeps serving --------------------------

@pytest.mark.parametrize("mode", ["sync", "threads", "fork", "async"])
def test_sighup_never_stops_a_single_process_server(run, mode):
    server = run("-m", "wirekit", "echo", "--port", "0", "--concurrency", mode)
    held = connect(server.address, timeout=10)  # in fork mode a child serves it
    held.sendall(b"before\n")
    assert held.recv_exactly(7) == b"before\n"
    server.signal_group(signal.SIGHUP)  # a hang-up reaches every process of the group
    assert server.wait_log("SIGHUP"), server.log
    assert "reload needs the prefork mode" in server.log
    assert server.proc.poll() is None
    held.sendall(b"after\n")  # the connection in hand is still served
    assert held.recv_exactly(6) == b"after\n"
    held.close()
    assert ask(server.address, b"new") == b"new"  # and new clients are accepted
    assert wait_until(lambda: not server.workers())  # no child left behind
    assert server.stop() == 0
    assert server.log.count("SIGHUP") == 1  # the parent answered, not each child


# -- SIGHUP with prefork: a graceful reload ----------------------------------------------------

@pytest.mark.parametrize("reuse_port", [False, True], ids=["shared-socket", "reuse-port"])
def test_sighup_reloads_prefork_workers_without_losing_a_request(run, reuse_port):
    server = run("-m", "wirekit", "echo", "--port", "0", "--concurrency", "prefork",
                 "--workers", "2", *(["--reuse-port"] if reuse_port else []))
    assert wait_until(lambda: len(server.workers()) == 2)
    before = server.workers()
    traffic = Traffic(server.address)
    try:
        assert traffic.wait_for(50), traffic.errors[:3]
        started = time.monotonic()
        server.signal_group(signal.SIGHUP)  # workers ignore it; the master reloads
        assert server.wait_log("reload done"), server.log
        assert wait_until(lambda: len(server.workers()) == 2 and
                          not server.workers() & before), (before, server.workers())
        assert time.monotonic() - started < 10
        assert traffic.wait_for(50), traffic.errors[:3]  # the new generation serves
    finally:
        traffic.stop()
    assert not traffic.errors, f"{len(traffic.errors)} requests failed: {traffic.errors[:3]}"
    assert "reloading" in server.log
    assert "exited with status" not in server.log  # no worker died of the SIGHUP
    assert server.proc.poll() is None
    assert server.stop() == 0


def test_on_reload_runs_in_the_master_before_the_new_workers_fork(run, app, tmp_path):
    source = tmp_path / "version.txt"
    source.write_text("v1")
    server = run(str(app), "reload", str(source))
    assert wait_until(lambda: len(server.workers()) == 2)
    first = server.workers()
    assert ask(server.address).split()[0] == b"v1"

    source.write_text("broken")  # a failed on_reload leaves the running workers serving
    server.proc.send_signal(signal.SIGHUP)
    assert server.wait_log("cannot parse the new configuration"), server.log
    assert server.wait_log("the running workers keep serving"), server.log
    assert server.workers() == first
    assert ask(server.address).split()[0] == b"v1"

    source.write_text("v2")
    server.proc.send_signal(signal.SIGHUP)
    assert server.wait_log("reload done"), server.log
    assert wait_until(lambda: len(server.workers()) == 2 and not server.workers() & first)
    answers = [ask(server.address).split() for _ in range(10)]
    assert {version for version, _ in answers} == {b"v2"}
    assert {int(pid) for _, pid in answers} <= server.workers()
    assert server.stop() == 0


def test_a_reload_whose_new_workers_cannot_start_keeps_the_old_ones(run, app, tmp_path):
    source = tmp_path / "version.txt"
    source.write_text("v1")
    server = run(str(app), "reload", str(source))
    assert wait_until(lambda: len(server.workers()) == 2)
    first = server.workers()
    source.write_text("crash")  # on_reload succeeds, but the new workers fail at boot
    server.proc.send_signal(signal.SIGHUP)
    assert server.wait_log("kept their old worker"), server.log
    assert server.workers() == first  # no respawn storm, no stop (WorkerBootError)
    assert {ask(server.address).split()[0] for _ in range(6)} == {b"v1"}
    assert server.proc.poll() is None
    assert server.stop() == 0


def test_a_reload_answers_a_connection_the_old_worker_accepted_before_its_first_request(
        run, app, tmp_path):
    """Told to drain, the old worker finishes what it holds, the way a retiring worker does:
    even a client that connected but has not sent its request yet is answered."""
    source = tmp_path / "version.txt"
    source.write_text("v1")
    server = run(str(app), "reload", str(source), env={"WORKERS": "1"})
    assert wait_until(lambda: len(server.workers()) == 1)
    (old,) = server.workers()
    waiting = connect(server.address, timeout=10)
    port = waiting.socket.getsockname()[1]
    assert wait_until(lambda: any(c.raddr and c.raddr.port == port  # accepted, in its hands
                                  for c in psutil.Process(old).net_connections()))
    source.write_text("v2")
    server.proc.send_signal(signal.SIGHUP)
    assert server.wait_log("reload done"), server.log
    assert ask(server.address).split()[0] == b"v2"  # the new worker serves
    assert not gone(old)  # the old one still holds the waiting client
    waiting.sendall(b"late\n")
    assert waiting.recv_until(b"\n", timeout=10, keep=False) == f"v1 {old}".encode()
    waiting.close()
    assert wait_until(lambda: gone(old))
    assert server.stop() == 0


# -- workers never outlive their master --------------------------------------------------------

@pytest.mark.parametrize("how", ["pdeathsig", "getppid"])
def test_workers_stop_when_the_master_is_killed(run, app, how):
    server = run(str(app), "orphan", how)
    assert wait_until(lambda: len(server.workers()) == 2)
    workers = server.workers()
    assert ask(server.address)
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    killed = time.monotonic()
    assert wait_until(lambda: all(gone(pid) for pid in workers), timeout=10), workers
    assert time.monotonic() - killed < 4  # noticed within about a second, then drained
    with pytest.raises(ConnectError) as refused:
        ask(server.address, timeout=2)
    assert refused.value.errno == errno.ECONNREFUSED
    assert server.wait_log("master"), server.log
