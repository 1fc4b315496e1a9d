"""SECURITY.md L04, L05 and N01-N06: the server survives what clients and handlers do."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import psutil
import pytest

from wirekit.config import DEFAULT_TIMEOUTS, Limits
from wirekit.errors import ConnectionClosed, IncompleteRead, NetworkError, Timeout
from wirekit.net import DatagramEndpoint, LineFramer, PassThroughFramer, connect
from wirekit.server import DatagramHandler, FramedHandler, Server, StreamHandler
from wirekit.server.services import EchoHandler

from .conftest import ServerProcess, _read_banner, hammer

APP = Path(__file__).with_name("app_server.py")


def start_app(name: str) -> ServerProcess:
    proc = subprocess.Popen([sys.executable, str(APP), name], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    banner = _read_banner(proc)
    return ServerProcess(proc, banner.split()[-1], banner)


def wait_until(predicate, timeout: float = 15.0, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def ask(address: str, line: bytes = b"x", timeout: float = 10) -> bytes:
    with connect(address, timeout=timeout) as stream:
        stream.sendall(line + b"\n")
        return stream.recv_until(b"\n", timeout=timeout, keep=False) if line != b"hang" else b""


class Boom(StreamHandler):
    def handle(self) -> None:
        if self.stream.readline() == b"boom\n":
            raise RuntimeError("handler bug")
        self.stream.sendall(b"fine\n")


@pytest.mark.parametrize("mode", ["sync", "threads"])
def test_a_handler_that_raises_is_logged_and_the_server_keeps_serving(serve, mode, caplog):
    server = serve(Boom, concurrency=mode)
    with caplog.at_level(logging.INFO, logger="wirekit.server"):
        with connect(server.address) as stream:
            stream.sendall(b"boom\n")
            assert stream.recv() == b""  # closed by the server
        assert ask(str(server.address), b"ok") == b"fine"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "Boom raised for client 127.0.0.1:" in errors[0].getMessage()
    assert "RuntimeError: handler bug" in caplog.text


def test_allow_list_refuses_another_loopback_address(serve, caplog):
    server = serve(EchoHandler, allow=["127.0.0.1"])
    with socket.create_connection(("127.0.0.1", server.address.port), timeout=5,
                                  source_address=("127.0.0.2", 0)) as intruder:
        intruder.settimeout(5)
        with contextlib.suppress(ConnectionResetError):  # closed at once, nothing served
            assert intruder.recv(10) == b""
    hammer(server.address, clients=2, rounds=1)  # 127.0.0.1 still served
    assert "127.0.0.2" in caplog.text and "refused" in caplog.text


def test_deny_list_and_verify_hook(serve):
    calls = []

    def verify(client):
        calls.append(client)
        return False

    server = serve(EchoHandler, verify=verify)
    with connect(server.address) as stream:
        stream.sendall(b"x")
        with pytest.raises((ConnectionClosed, IncompleteRead)):
            stream.recv_exactly(1)
    assert calls and calls[0].host == "127.0.0.1"


def test_graceful_shutdown_lets_an_in_flight_request_finish_and_refuses_new_ones():
    server = start_app("slow")
    answer: list[bytes] = []
    inflight = threading.Thread(target=lambda: answer.append(ask(server.address, b"work")))
    inflight.start()
    time.sleep(0.4)  # the request is now being handled
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    host, port = server.address.rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=2).close()
    inflight.join(10)
    assert answer == [b"done"]
    assert server.proc.wait(10) == 0


class SlowPassThrough(FramedHandler):
    """Every chunk is a message; the reply is big and comes late."""

    framer = PassThroughFramer
    started = threading.Event()

    def handle_message(self, message: bytes) -> bytes:
        self.started.set()
        time.sleep(0.5)
        return message * (1 << 20)  # 1 MiB for a 1-byte message: several sends


@pytest.mark.parametrize("mode", ["sync", "threads"])
def test_shutdown_mid_reply_still_sends_the_whole_reply(mode):
    """A pass-through connection stays marked idle while it answers (no flag per message);
    shutdown must then shut only the read side, so the reply in progress is not cut off."""
    SlowPassThrough.started.clear()
    server = Server(SlowPassThrough, "127.0.0.1:0", concurrency=mode).start()
    with connect(server.address) as stream:
        stream.sendall(b"z")
        assert SlowPassThrough.started.wait(10)
        stopper = threading.Thread(target=server.shutdown)
        stopper.start()
        assert stream.recv_exactly(1 << 20, timeout=10) == b"z" * (1 << 20)
        assert stream.recv(timeout=10) == b""  # and then the server ends the connection
    stopper.join(20)
    assert server.stopped.is_set()


class LineEcho(FramedHandler):
    framer = LineFramer

    def handle_message(self, message: bytes) -> bytes:
        return message


@pytest.mark.parametrize("handler", [LineEcho, EchoHandler], ids=["framed", "pass-through"])
def test_a_recycling_server_answers_the_first_message_of_a_waiting_connection(handler):
    """Prefork's max_requests: the worker stops after the connections in hand, and one that
    connected but has not spoken yet is in hand. It must not be shut as idle."""
    server = Server(handler, "127.0.0.1:0", concurrency="threads").start()
    with connect(server.address) as fresh, connect(server.address) as served:
        served.sendall(b"one\n")
        assert served.recv_exactly(4, timeout=10) == b"one\n"
        time.sleep(0.3)  # both handlers now wait in recv
        server.process.recycle()  # what the acceptor does when the connection budget is spent
        assert served.recv(timeout=10) == b""  # served and idle: closed at once
        fresh.sendall(b"first\n")
        assert fresh.recv_exactly(6, timeout=10) == b"first\n"
        assert fresh.recv(timeout=10) == b""  # and then it ends
    assert server.stopped.wait(20)


def test_sigterm_with_idle_connections_exits_zero(cli_server):
    for mode in ("sync", "threads", "async", "fork", "prefork"):
        server = cli_server("echo", "--port", "0", "--concurrency", mode)
        idle = connect(server.address)
        idle.sendall(b"one request")  # a keep-alive connection, now idle between messages
        assert idle.recv_exactly(11) == b"one request"
        assert server.stop(signal.SIGTERM, timeout=40) == 0, mode
        assert "grace period over" not in server.log, f"{mode} waited for an idle connection"
        assert idle.recv(timeout=5) == b""
        idle.close()


def test_fork_mode_leaves_no_zombies(cli_server):
    server = cli_server("echo", "--port", "0", "--concurrency", "fork")
    hammer(server.address, clients=20, rounds=2)
    parent = psutil.Process(server.proc.pid)
    assert wait_until(lambda: not parent.children())
    assert server.stop() == 0


def test_prefork_restarts_a_killed_worker(cli_server):
    server = cli_server("echo", "--port", "0", "--concurrency", "prefork", "--workers", "2")
    master = psutil.Process(server.proc.pid)
    assert wait_until(lambda: len(master.children()) == 2)
    victim = master.children()[0].pid
    os.kill(victim, signal.SIGKILL)
    assert wait_until(lambda: len(master.children()) == 2 and
                      victim not in [c.pid for c in master.children()])
    hammer(server.address, clients=10, rounds=2)
    assert all(c.status() != psutil.STATUS_ZOMBIE for c in master.children())
    assert server.stop() == 0


def test_prefork_recycles_a_worker_after_max_requests():
    server = start_app("recycle")
    try:
        pids = [ask(server.address) for _ in range(16)]
        assert len(set(pids)) >= 2  # recycled after 5-7 connections, every request answered
        assert all(p.isdigit() for p in pids)
    finally:
        assert server.stop() == 0


def test_prefork_kills_a_hung_worker_and_others_keep_serving():
    server = start_app("hang")
    try:
        master = psutil.Process(server.proc.pid)
        assert wait_until(lambda: len(master.children()) == 2)
        before = {c.pid for c in master.children()}
        hung = connect(server.address)
        hung.sendall(b"hang\n")  # one worker is now stuck for good
        assert wait_until(lambda: {c.pid for c in master.children()} - before, timeout=20)
        assert ask(server.address).isdigit()
        hung.close()
    finally:
        assert server.stop() == 0


def test_prefork_boot_failure_exits_nonzero_without_a_respawn_storm():
    proc = subprocess.Popen([sys.executable, str(APP), "bootfail"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert err.count(b"failed to start") <= 6  # a few tries, not a storm
    assert b"WorkerBootError" in err


def test_emfile_backs_off_and_recovers(cli_server):
    server = cli_server("echo", "--port", "0", "--concurrency", "threads", "--workers", "200")
    process = psutil.Process(server.proc.pid)
    process.rlimit(resource.RLIMIT_NOFILE, (64, 64))  # the server may hold 64 fds from now
    clients = []
    for _ in range(80):
        try:
            clients.append(socket.create_connection(server.address.rsplit(":", 1), timeout=5))
        except OSError:
            break
    cpu_before = sum(process.cpu_times()[:2])
    time.sleep(2)
    cpu_used = sum(process.cpu_times()[:2]) - cpu_before
    assert cpu_used < 1.0  # backing off, not spinning (2 s of wall time)
    for client in clients:
        client.close()
    hammer(server.address, clients=5, rounds=2)
    assert server.proc.poll() is None
    assert server.stop() == 0
    assert "Too many open files); backing off" in server.log


def test_client_reset_mid_stream_leaves_no_leak(serve):
    class Firehose(StreamHandler):
        def handle(self) -> None:
            self.stream.readline()
            for _ in range(800):  # 50 MiB in 64 KiB writes
                self.stream.sendall(b"x" * 65536)

    fds = len(os.listdir("/proc/self/fd"))
    server = serve(Firehose, concurrency="threads")
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", server.address.port)) as sock:
            sock.sendall(b"go\n")
            sock.recv(1024)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
    assert wait_until(lambda: server.active_connections == 0)
    server.shutdown()
    assert wait_until(lambda: len(os.listdir("/proc/self/fd")) <= fds)


def test_half_closed_client_still_gets_its_answer(serve):
    class Upper(FramedHandler):
        framer = LineFramer

        def handle_message(self, message: bytes) -> bytes:
            return message.upper()

    for mode in ("threads", "async"):
        server = serve(Upper, concurrency=mode)
        with connect(server.address) as stream:
            stream.sendall(b"hello\n")
            stream.shutdown("write")
            assert stream.recv_until(b"\n") == b"HELLO\n"
            assert stream.recv() == b""


def test_excess_clients_wait_in_the_backlog_not_refused(serve):
    class Hold(StreamHandler):
        def handle(self) -> None:
            while data := self.stream.recv():
                self.stream.sendall(data)

    server = serve(Hold, concurrency="threads", workers=2)
    first, second = connect(server.address), connect(server.address)
    for stream in (first, second):
        stream.sendall(b"a")
        assert stream.recv_exactly(1) == b"a"
    third = connect(server.address)  # accepted by the kernel, waiting in the backlog
    third.sendall(b"b")
    with pytest.raises(TimeoutError):
        third.recv_exactly(1, timeout=0.5)  # no worker free yet
    first.close()
    assert third.recv_exactly(1, timeout=10) == b"b"  # served once a slot freed
    second.close()
    third.close()


@pytest.mark.parametrize("mode", ["threads", "async"])
def test_idle_connections_are_closed(serve, mode):
    server = serve(EchoHandler, concurrency=mode,
                   timeouts=dataclasses.replace(DEFAULT_TIMEOUTS, idle=0.3))
    with connect(server.address) as stream:
        assert stream.recv(timeout=10) == b""  # closed by the server, not by our timeout


@pytest.mark.parametrize("mode", ["threads", "async"])
def test_a_message_dripped_a_byte_at_a_time_is_cut_off_at_the_message_deadline(
        serve, mode, caplog):
    """L04 for framed protocols: every byte arrives well within the idle timeout, but the
    whole line must arrive within Timeouts.message."""
    timeouts = dataclasses.replace(DEFAULT_TIMEOUTS, idle=60, message=1.0)
    server = serve(LineEcho, concurrency=mode, timeouts=timeouts)
    caplog.set_level(logging.INFO, logger="wirekit.server")
    with connect(server.address) as stream:
        stream.sendall(b"quick\n")
        assert stream.recv_exactly(6, timeout=10) == b"quick\n"  # a whole line is fine
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 10 and not closed:
            try:
                stream.sendall(b"s")
                closed = stream.recv(timeout=0.3) == b""
            except Timeout:
                continue
            except (ConnectionClosed, NetworkError):
                closed = True
        assert closed, "the server kept a dripping client for 10 s"
    assert wait_until(lambda: "message" in caplog.text and "timed out" in caplog.text)


@pytest.mark.parametrize("mode", ["threads", "async"])
def test_a_connection_in_use_outlives_the_idle_timeout(serve, mode):
    server = serve(EchoHandler, concurrency=mode,
                   timeouts=dataclasses.replace(DEFAULT_TIMEOUTS, idle=0.4))
    with connect(server.address) as stream:
        for n in range(8):  # 1.6 s of traffic, a message every 0.2 s
            stream.sendall(b"%d" % n)
            assert stream.recv_exactly(1, timeout=10) == b"%d" % n
            time.sleep(0.2)


@pytest.mark.parametrize("mode", ["threads", "async"])
def test_oversized_framed_message_disconnects_with_a_last_word(serve, mode):
    class Small(FramedHandler):
        framer = LineFramer
        max_message = 10

        def handle_message(self, message: bytes) -> bytes:
            return message

        def on_too_large(self) -> bytes:
            return b"ERR line too long\n"

    server = serve(Small, concurrency=mode)
    with connect(server.address) as stream:
        stream.sendall(b"short\n")
        assert stream.readline() == b"short\n"
        stream.sendall(b"y" * 100)
        assert stream.readline() == b"ERR line too long\n"
        assert stream.recv() == b""


@pytest.mark.parametrize("mode", ["sync", "threads", "async"])
def test_udp_survives_oversized_datagrams_and_handler_errors(serve, mode):
    class Picky(DatagramHandler):
        def handle(self) -> None:
            if self.data == b"boom":
                raise RuntimeError("bad datagram")
            self.reply(self.data.upper())

    server = serve(Picky, concurrency=mode, limits=Limits(max_datagram=1000))
    with DatagramEndpoint.connect(server.address) as client:
        client.send(b"boom")
        client.send(b"x" * 60000)
        client.send(b"ok")
        assert client.receive(timeout=5).data == b"OK"


def test_a_burst_of_connects_is_queued_not_refused(serve):
    server = serve(EchoHandler, concurrency="threads", workers=8)
    refused: list[BaseException] = []
    answered = []

    def client(n: int) -> None:
        try:
            with connect(server.address, timeout=30) as stream:
                stream.sendall(b"%d" % n)
                answered.append(stream.recv(timeout=30))
        except OSError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(300)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not refused
    assert len(answered) == 300


def test_prefork_recycling_with_reuse_port_resets_no_queued_connection():
    """With SO_REUSEPORT each worker has its own accept queue. A worker that recycles must not
    take connections the kernel already queued on its socket down with it (N04)."""
    server = start_app("recycle-reuseport")
    answers: list[bytes] = []
    errors: list[BaseException] = []

    def client() -> None:
        for _ in range(40):
            try:
                answers.append(ask(server.address))
            except BaseException as exc:  # every failure is the finding
                errors.append(exc)

    try:
        threads = [threading.Thread(target=client) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not errors, f"{len(errors)} of 240 connections failed: {errors[:3]}"
        assert len(set(answers)) >= 10  # many recycles happened on the way
    finally:
        assert server.stop() == 0


def test_a_retiring_worker_is_replaced_while_it_still_drains():
    """max_requests with one worker whose last connection is busy: the next client is
    served by the replacement at once, not after the old worker's drain (up to the grace)."""
    server = start_app("retire")
    master = psutil.Process(server.proc.pid)
    try:
        busy = connect(server.address)
        busy.sendall(b"hang\n")  # connection 1 of 2: busy for good
        first = ask(server.address)  # connection 2 of 2: the budget is spent, it retires
        started = time.monotonic()
        second = ask(server.address, timeout=10)  # the grace period is 30 s
        assert second.isdigit() and second != first
        assert time.monotonic() - started < 10
        assert len(master.children()) == 2  # the old worker still drains beside it
        busy.close()
    finally:
        for child in master.children():
            child.kill()
        server.stop(signal.SIGKILL)


def test_a_client_that_never_reads_cannot_grow_server_memory(cli_server):
    server = cli_server("echo", "--port", "0", "--concurrency", "async")
    process = psutil.Process(server.proc.pid)
    before = process.memory_info().rss
    with socket.create_connection(server.address.rsplit(":", 1)) as greedy:
        greedy.settimeout(3)
        sent = 0
        with contextlib.suppress(TimeoutError):
            while sent < 200 * 2**20:  # asks for 200 MiB of echo and reads none of it
                sent += greedy.send(b"x" * 65536)
        grown = process.memory_info().rss - before
    assert sent < 100 * 2**20  # the server stopped reading: backpressure reached the client
    assert grown < 32 * 2**20
    assert server.stop() == 0


class BigReplies(FramedHandler):
    """A small request, a big answer: 256 KiB per line."""

    framer = LineFramer

    def handle_message(self, message: bytes) -> bytes:
        return message * (1 << 18)


@pytest.mark.parametrize("half_close", [False, True], ids=["open", "half-closed"])
def test_async_stops_answering_a_client_that_does_not_read_and_loses_nothing(serve,
                                                                              half_close):
    """200 one-byte requests in one chunk ask for 50 MiB of replies. While the client does not
    read, the server answers only up to the transport's high-water mark (L05); once it reads,
    every reply arrives, even if it half-closed its side right after asking (N02)."""
    server = serve(BigReplies, concurrency="async")
    tracemalloc.start()
    try:
        with connect(server.address) as stream:
            stream.sendall(b"x\n" * 200)
            if half_close:
                stream.socket.shutdown(socket.SHUT_WR)
            time.sleep(1.0)  # the server answers what fits, then waits
            held = tracemalloc.get_traced_memory()[0]
            reply = b"x" * (1 << 18) + b"\n"  # the line framer ends each reply
            received = stream.recv_exactly(200 * len(reply), timeout=30)
        assert received == reply * 200
        assert held < 24 * 2**20, f"{held / 2**20:.0f} MiB held for a client that did not read"
    finally:
        tracemalloc.stop()


def test_fork_mode_caps_children_and_queues_the_rest(cli_server):
    server = cli_server("echo", "--port", "0", "--concurrency", "fork", "--workers", "2")
    hammer(server.address, clients=12, rounds=2)  # 12 clients, 2 children at a time
    assert server.stop() == 0


def test_prefork_with_reuse_port(cli_server):
    server = cli_server("echo", "--port", "0", "--concurrency", "prefork", "--workers", "2",
                        "--reuse-port")
    hammer(server.address, clients=30, rounds=3)
    assert server.stop() == 0


def test_unix_datagram_server(serve, short_tmp):
    from wirekit.server.services import DatagramEchoHandler

    server = serve(DatagramEchoHandler, f"unix:{short_tmp / 'dg.sock'}", concurrency="threads")
    with DatagramEndpoint.connect(server.address) as client:
        client.send(b"over unix")
        assert client.receive(timeout=5).data == b"over unix"


def test_each_connection_ends_with_one_log_line(serve, caplog):
    server = serve(EchoHandler, concurrency="threads")
    with caplog.at_level(logging.INFO, logger="wirekit.server"):
        with connect(server.address) as stream:
            stream.sendall(b"0123456789")
            stream.recv_exactly(10)
        assert wait_until(lambda: "10 B in, 10 B out" in caplog.text)
    lines = [r.getMessage() for r in caplog.records if "B in" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith("127.0.0.1:") and " closed after " in lines[0]


def test_a_handler_that_raises_system_exit_does_not_shrink_the_pool(serve):
    class Quitter(StreamHandler):
        def handle(self) -> None:
            if self.stream.readline() == b"quit\n":
                raise SystemExit(3)
            self.stream.sendall(b"fine\n")

    server = serve(Quitter, concurrency="threads", workers=1)
    for _ in range(3):
        with connect(server.address) as stream:
            stream.sendall(b"quit\n")
            assert stream.recv(timeout=10) == b""
    assert ask(str(server.address), b"still there") == b"fine"
