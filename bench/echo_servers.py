"""Echo servers for bench/echo.py, one per contender: `python echo_servers.py NAME`.

Each binds 127.0.0.1 on a free port, prints "READY host:port" and serves until killed.
"""

from __future__ import annotations

import asyncio
import socket
import socketserver
import sys


def announce(address: tuple[str, int]) -> None:
    print(f"READY {address[0]}:{address[1]}", flush=True)


class StdlibEcho(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


def stdlib_threads() -> None:
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    socketserver.ThreadingTCPServer.request_queue_size = 1024
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), StdlibEcho) as server:
        announce(server.server_address)
        server.serve_forever()


def bare_threads() -> None:
    """A thread per connection with a blocking accept loop: the stdlib's shape, no framework."""
    import threading

    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
    announce(listener.getsockname())

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]


async def echo_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def asyncio_server(kind: str) -> None:
    loop = asyncio.get_running_loop()
    if kind == "protocol":
        server = await loop.create_server(EchoProtocol, "127.0.0.1", 0, backlog=1024)
    else:
        server = await asyncio.start_server(echo_stream, "127.0.0.1", 0, backlog=1024)
    for sock in server.sockets:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    announce(server.sockets[0].getsockname())
    await server.serve_forever()


def run_asyncio(kind: str, uvloop_: bool) -> None:
    if uvloop_:
        import uvloop

        uvloop.run(asyncio_server(kind))
    else:
        asyncio.run(asyncio_server(kind))


def wirekit(mode: str) -> None:
    from wirekit.server import AsyncStreamHandler, Prefork, Server, StreamHandler
    from wirekit.server.services import EchoHandler

    class AsyncEcho(AsyncStreamHandler):
        async def handle(self) -> None:
            while data := await self.stream.recv():
                await self.stream.sendall(data)

    class BlockingEcho(StreamHandler):
        def handle(self) -> None:
            while data := self.stream.recv():
                self.stream.sendall(data)

    handler: type = EchoHandler
    concurrency: object = mode
    if mode == "async-stream":
        handler, concurrency = AsyncEcho, "async"
    elif mode == "threads-stream":
        handler, concurrency = BlockingEcho, "threads"
    elif mode.startswith("prefork"):
        concurrency = Prefork(workers=int(mode.removeprefix("prefork")))
    server = Server(handler, "127.0.0.1:0", concurrency=concurrency)  # type: ignore[arg-type]
    server.serve_forever(ready=lambda: announce((server.address.host, server.address.port)))


def burn() -> None:
    """About 50 microseconds of pure-Python work: a handler that computes something."""
    total = 0
    for i in range(600):
        total += i * i


def wirekit_cpu(workers: int) -> None:
    from wirekit.net import PassThroughFramer
    from wirekit.server import Async, FramedHandler, Prefork, Server

    class Working(FramedHandler):
        framer = PassThroughFramer

        def handle_message(self, message: bytes) -> bytes:
            burn()
            return message

    server = Server(Working, "127.0.0.1:0", concurrency=Prefork(workers=workers,
                                                                  worker_mode=Async()))
    server.serve_forever(ready=lambda: announce((server.address.host, server.address.port)))


def wirekit_prefork_async(workers: int) -> None:
    from wirekit.server import Async, Prefork, Server
    from wirekit.server.services import EchoHandler

    server = Server(EchoHandler, "127.0.0.1:0",
                    concurrency=Prefork(workers=workers, worker_mode=Async()))
    server.serve_forever(ready=lambda: announce((server.address.host, server.address.port)))


CONTENDERS = {
    "stdlib-threads": stdlib_threads,
    "bare-threads": bare_threads,
    "asyncio-streams": lambda: run_asyncio("streams", False),
    "asyncio-protocol": lambda: run_asyncio("protocol", False),
    "uvloop-streams": lambda: run_asyncio("streams", True),
    "uvloop-protocol": lambda: run_asyncio("protocol", True),
    "wirekit-sync": lambda: wirekit("sync"),
    "wirekit-threads": lambda: wirekit("threads"),
    "wirekit-threads-stream": lambda: wirekit("threads-stream"),
    "wirekit-fork": lambda: wirekit("fork"),
    "wirekit-prefork1": lambda: wirekit("prefork1"),
    "wirekit-prefork2": lambda: wirekit("prefork2"),
    "wirekit-prefork1-async": lambda: wirekit_prefork_async(1),
    "wirekit-prefork2-async": lambda: wirekit_prefork_async(2),
    "wirekit-prefork1-cpu": lambda: wirekit_cpu(1),
    "wirekit-prefork2-cpu": lambda: wirekit_cpu(2),
    "wirekit-async": lambda: wirekit("async"),
    "wirekit-async-stream": lambda: wirekit("async-stream"),
}

if __name__ == "__main__":
    CONTENDERS[sys.argv[1]]()
