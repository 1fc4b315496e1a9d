"""Every concurrency mode serves 50 concurrent clients correctly, over TCP and Unix sockets,
and the echo and time services answer the same way in every mode."""

from __future__ import annotations

import pytest

from wirekit.net import DatagramEndpoint, connect
from wirekit.server import AsyncStreamHandler, StreamHandler
from wirekit.server.services import DatagramEchoHandler, EchoHandler, TimeHandler

from ..conftest import needs_ipv6
from .conftest import hammer

IN_PROCESS = ["sync", "threads", "async"]
SUBPROCESS = ["fork", "prefork"]


class BlockingEcho(StreamHandler):
    def handle(self) -> None:
        while data := self.stream.recv():
            self.stream.sendall(data)


class AsyncEcho(AsyncStreamHandler):
    async def handle(self) -> None:
        while data := await self.stream.recv():
            await self.stream.sendall(data)


@pytest.mark.parametrize("mode", ["threads", "async"])
@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_fifty_concurrent_clients_in_process(serve, mode, transport, short_tmp):
    address = f"unix:{short_tmp / 'e.sock'}" if transport == "unix" else "127.0.0.1:0"
    server = serve(EchoHandler, address, concurrency=mode)
    hammer(server.address, clients=50)


def test_sync_mode_serves_clients_one_after_another(serve):
    server = serve(BlockingEcho, concurrency="sync")
    for _ in range(3):
        hammer(server.address, clients=1, rounds=3)


@pytest.mark.parametrize("mode", SUBPROCESS)
@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_fifty_concurrent_clients_in_worker_processes(cli_server, mode, transport, short_tmp):
    where = ["--unix", str(short_tmp / "e.sock")] if transport == "unix" else ["--port", "0"]
    workers = ["--workers", "60"] if mode == "fork" else ["--workers", "2"]
    server = cli_server("echo", *where, "--concurrency", mode, *workers)
    hammer(server.address, clients=50)
    assert server.stop() == 0


@pytest.mark.parametrize(("handler", "mode"), [(BlockingEcho, "threads"), (AsyncEcho, "async")])
def test_stream_handlers_blocking_and_async(serve, handler, mode):
    server = serve(handler, concurrency=mode)
    hammer(server.address, clients=20)


@needs_ipv6
@pytest.mark.parametrize("mode", IN_PROCESS)
def test_ipv6(serve, mode):
    server = serve(EchoHandler, "[::1]:0", concurrency=mode)
    hammer(server.address, clients=5, rounds=2)


@pytest.mark.parametrize("mode", IN_PROCESS)
def test_udp_echo(serve, mode):
    server = serve(DatagramEchoHandler, concurrency=mode)
    with DatagramEndpoint.connect(server.address) as client:
        for n in range(5):
            client.send(b"datagram %d" % n)
            assert client.receive(timeout=5).data == b"datagram %d" % n


@pytest.mark.parametrize("mode", ["sync", "threads", "async"])
def test_time_server_sends_the_time_and_closes(serve, mode):
    server = serve(TimeHandler, concurrency=mode)
    with connect(server.address) as stream:
        line = stream.readline()
        assert line.endswith(b"\r\n") and len(line.split()) == 5  # 'Tue Nov 24 02:39:36 2026'
        assert stream.recv() == b""


def test_mismatched_handler_and_mode_is_a_clear_error():
    from wirekit.errors import ConfigError
    from wirekit.server import Server

    with pytest.raises(ConfigError, match="cannot run AsyncEcho"):
        Server(AsyncEcho, concurrency="threads")
    with pytest.raises(ConfigError, match="cannot run BlockingEcho"):
        Server(BlockingEcho, concurrency="async")
    with pytest.raises(ConfigError, match="unknown concurrency"):
        Server(EchoHandler, concurrency="green-threads")
