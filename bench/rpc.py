"""RPC side by side: wirekit's XML-RPC, JSON-RPC and object channel against the standard
library's xmlrpc and multiprocessing.connection, Pyro5 and rpyc.

Sequential calls on one connection, one client, for ``--seconds`` per case in all, split into
``--rounds`` interleaved rounds (fresh servers each) of which each peer keeps its best:
``add(3, 5)`` and an echo of 1 MiB of bytes (JSON has no bytes: JSON-RPC echoes a 1 MiB
string). Every server runs in a process of its own, so client and server each have a core;
the clients run in this process.

* **stdlib xmlrpc**: ``SimpleXMLRPCServer`` with an HTTP/1.1 handler (keep-alive, its best
  case) and ``ServerProxy(use_builtin_types=True)``.
* **wirekit XML-RPC / JSON-RPC**: ``RPCServer`` (threads mode) and the proxies.
* **floor**: not a contender. Raw sockets, HTTP cut by hand without a check, libxml2 (lxml)
  and pybase64: the fastest an XML-RPC call can be in CPython here, the ceiling of any ratio.
* **core only**: not a contender either. Raw sockets carrying wirekit's sans-IO HTTP core,
  its XML-RPC codec and dispatcher, and nothing else (no timeouts, no limits but the core's,
  no WSGI): what the checks cost on their own, so the ceiling of any design built on them.
* **multiprocessing.connection**: a ``Listener`` whose loop answers ``(name, args)`` pickles.
* **wirekit channel**: ``ObjectServer`` (threads mode) and ``Client.proxy()``, msgpack.
* **Pyro5** (serpent, its default) and **rpyc** (a ``Service``, brine): their own servers.

Targets (issue 17): XML-RPC at least 3x the stdlib (the 1 MiB echo at least 10x); the channel
at least 1.0x multiprocessing.connection and 2x Pyro5.

    .venv/bin/python bench/rpc.py                   # 2 s per case (about a minute)
    .venv/bin/python bench/rpc.py --seconds 0.3     # a quick check that everything runs
    .venv/bin/python bench/rpc.py --only channel
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
MiB = 1024 * 1024
BLOB = bytes(range(256)) * (MiB // 256)
TEXT = "x" * MiB
KEY = b"bench key"


class Service:
    def add(self, a: int, b: int) -> int:
        return a + b

    def echo(self, value: Any) -> Any:
        return value


# -- the servers (run with --serve KIND) ------------------------------------------------------

def serve(kind: str) -> None:
    """Serve ``kind`` on a free loopback port; print the port; run until killed."""
    announce = lambda port: print(port, flush=True)  # noqa: E731
    if kind == "stdlib-xmlrpc":
        import xmlrpc.server

        class Handler(xmlrpc.server.SimpleXMLRPCRequestHandler):
            protocol_version = "HTTP/1.1"

        server = xmlrpc.server.SimpleXMLRPCServer(("127.0.0.1", 0), Handler, logRequests=False,
                                                  use_builtin_types=True)
        server.register_instance(Service())
        announce(server.server_address[1])
        server.serve_forever()
    elif kind in ("wirekit-xmlrpc", "wirekit-jsonrpc"):
        from wirekit.rpc import RPCServer

        rpc = RPCServer("127.0.0.1:0", jsonrpc=kind.endswith("jsonrpc"), concurrency="threads")
        rpc.register_instance(Service())
        rpc.serve_forever(ready=lambda: announce(rpc.address.port))
    elif kind == "multiprocessing":
        from multiprocessing import connection

        listener = connection.Listener(("127.0.0.1", 0), authkey=KEY)
        announce(listener.address[1])
        service = Service()
        while True:
            with listener.accept() as conn:
                try:
                    while True:
                        name, args = conn.recv()
                        conn.send(getattr(service, name)(*args))
                except EOFError:
                    pass
    elif kind == "floor-xmlrpc":
        _serve_floor(announce)
    elif kind == "core-xmlrpc":
        _serve_core(announce)
    elif kind == "wirekit-channel":
        from wirekit.channel import ObjectServer

        channel = ObjectServer(Service(), "127.0.0.1:0", authkey=KEY, concurrency="threads")
        channel.serve_forever(ready=lambda: announce(channel.address.port))
    elif kind == "pyro5":
        import Pyro5.api

        daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
        daemon.register(Pyro5.api.expose(Service), "bench")
        announce(daemon.locationStr.rsplit(":", 1)[1])
        daemon.requestLoop()
    elif kind == "rpyc":
        import rpyc
        from rpyc.utils.server import ThreadedServer

        class BenchService(rpyc.Service):
            def exposed_add(self, a: int, b: int) -> int:
                return a + b

            def exposed_echo(self, value: Any) -> Any:
                return value

        rpyc_server = ThreadedServer(BenchService, hostname="127.0.0.1", port=0,
                                     protocol_config={"allow_public_attrs": False})
        announce(rpyc_server.port)
        rpyc_server.start()
    else:
        raise SystemExit(f"unknown server {kind}")


def _cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def _pin_server() -> None:
    """(in the server's process) run on the last CPU, the client keeps the first."""
    cpus = _cpus()
    if len(cpus) >= 2:
        os.sched_setaffinity(0, {cpus[-1]})


@contextmanager
def server_process(kind: str) -> Iterator[int]:
    # Client and server pinned to one CPU each: left to the scheduler, the two processes of a
    # ping-pong land on the same CPU or on two from one run to the next, and the rates differ
    # by 2x between runs on a 2-CPU machine (measured).
    proc = subprocess.Popen([sys.executable, str(HERE), "--serve", kind],
                            stdout=subprocess.PIPE, text=True,
                            preexec_fn=_pin_server)  # noqa: PLW1509 - before any thread
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.strip():
            raise RuntimeError(f"{kind} server did not start")
        yield int(line)
    finally:
        proc.kill()
        proc.wait(10)


# -- the clients: each returns (add, echo) callables and a closer ------------------------------

Calls = tuple[Callable[[], Any], Callable[[], Any], Callable[[], None]]


def _stdlib_xmlrpc(port: int) -> Calls:
    import xmlrpc.client

    proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2", use_builtin_types=True)
    return (lambda: proxy.add(3, 5), lambda: proxy.echo(BLOB), proxy("close"))


def _wirekit_xmlrpc(port: int) -> Calls:
    from wirekit.rpc import XMLRPCProxy

    xml = XMLRPCProxy(f"http://127.0.0.1:{port}/RPC2")
    return (lambda: xml.add(3, 5), lambda: xml.echo(BLOB), xml.close)


def _wirekit_jsonrpc(port: int) -> Calls:
    from wirekit.rpc import JSONRPCProxy

    js = JSONRPCProxy(f"http://127.0.0.1:{port}/")
    return (lambda: js.add(3, 5), lambda: js.echo(TEXT), js.close)


def _multiprocessing(port: int) -> Calls:
    from multiprocessing import connection

    conn = connection.Client(("127.0.0.1", port), authkey=KEY)

    def call(name: str, *args: Any) -> Any:
        conn.send((name, args))
        return conn.recv()

    return (lambda: call("add", 3, 5), lambda: call("echo", BLOB), conn.close)


def _wirekit_channel(port: int) -> Calls:
    from wirekit.channel import Client

    channel = Client(("127.0.0.1", port), authkey=KEY)
    remote = channel.proxy()
    return (lambda: remote.add(3, 5), lambda: remote.echo(BLOB), channel.close)


def _pyro5(port: int) -> Calls:
    import Pyro5.api
    import serpent

    pyro = Pyro5.api.Proxy(f"PYRO:bench@127.0.0.1:{port}")
    pyro._pyroBind()
    return (lambda: pyro.add(3, 5), lambda: serpent.tobytes(pyro.echo(BLOB)),
            pyro._pyroRelease)


def _rpyc(port: int) -> Calls:
    import rpyc

    for _ in range(100):  # ThreadedServer has its port before it listens
        try:
            link = rpyc.connect("127.0.0.1", port)
            break
        except ConnectionRefusedError:
            time.sleep(0.02)
    else:
        raise RuntimeError("the rpyc server did not listen")
    return (lambda: link.root.add(3, 5), lambda: link.root.echo(BLOB), link.close)


# -- the floor: what an XML-RPC call costs with nothing but sockets and libxml2 ---------------
# Not a contender: HTTP/1.1 keep-alive cut by hand (no checks at all), libxml2 through lxml,
# base64 by pybase64. No Python implementation that parses the XML can beat it, so it shows
# which targets are reachable at all on this machine. (Until session 11 it used expat, which
# reads a MiB of base64 at a quarter of libxml2's speed: wirekit's echo then passed it.)

_FLOOR_REQUEST = ("POST /RPC2 HTTP/1.1\r\nHost: bench\r\nContent-Type: text/xml\r\n"
                  "Content-Length: {}\r\n\r\n")
_FLOOR_RESPONSE = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n"


def _floor_text(pieces: list[bytes]) -> list[str]:
    """The character data of each element, in order (what any unmarshaller has to read):
    expat for a small document (the fastest to start), libxml2 fed piece by piece for a
    large one (the fastest per byte)."""
    if len(pieces) == 1 and len(pieces[0]) < 65536:
        from xml.parsers import expat

        texts: list[str] = []
        parser = expat.ParserCreate()
        parser.CharacterDataHandler = texts.append
        parser.Parse(pieces[0], True)
        return texts
    from lxml import etree

    feeder = etree.XMLParser(huge_tree=True)
    for piece in pieces:
        feeder.feed(piece)
    return list(feeder.close().itertext())


def _floor_read(sock: Any, buffer: bytearray) -> list[bytes]:
    """One message's body, in the pieces it came in; what follows it stays in ``buffer``."""
    while (end := buffer.find(b"\r\n\r\n")) < 0:
        buffer += sock.recv(1 << 20) or b"?"
    start = buffer.find(b"Content-Length: ") + 16
    missing = int(buffer[start:buffer.find(b"\r\n", start)])
    pieces = [bytes(buffer[end + 4:end + 4 + missing])]
    del buffer[:end + 4 + missing]
    missing -= len(pieces[0])
    while missing > 0:
        piece = sock.recv(min(missing, 65536))  # larger pieces cost more in page faults
        if not piece:
            raise OSError("closed")
        pieces.append(piece)
        missing -= len(piece)
    return pieces


def _floor_send(sock: Any, head: str, parts: list[bytes]) -> None:
    """Head and body: a small body joined to the head, a large one sent as it is."""
    length = sum(map(len, parts))
    if length < 65536:
        sock.sendall(head.format(length).encode() + b"".join(parts))
        return
    sock.sendall(head.format(length).encode())
    for part in parts:
        sock.sendall(part)


def _serve_floor(announce: Callable[[int], None]) -> None:
    import socket

    import pybase64

    listener = socket.create_server(("127.0.0.1", 0))
    announce(listener.getsockname()[1])
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = bytearray()
        with conn:
            while True:
                try:
                    texts = _floor_text(_floor_read(conn, buffer))
                except (OSError, ValueError):
                    break
                if texts[0] == "echo":
                    value = pybase64.b64encode(pybase64.b64decode("".join(texts[1:])))
                    parts = [b"<base64>", value, b"</base64>"]
                else:
                    parts = [f"<int>{int(texts[1]) + int(texts[2])}</int>".encode()]
                _floor_send(conn, _FLOOR_RESPONSE, [
                    b"<?xml version='1.0'?>\n<methodResponse><params><param><value>", *parts,
                    b"</value></param></params></methodResponse>"])


def _floor_xmlrpc(port: int) -> Calls:
    import socket

    import pybase64

    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = bytearray()

    def call(name: str, parts: list[bytes]) -> list[str]:
        _floor_send(sock, _FLOOR_REQUEST, [
            f"<?xml version='1.0'?>\n<methodCall><methodName>{name}</methodName><params>"
            .encode(), *parts, b"</params></methodCall>"])
        return _floor_text(_floor_read(sock, buffer))

    def add() -> int:
        return int(call("add", [b"<param><value><int>3</int></value></param>"
                                b"<param><value><int>5</int></value></param>"])[0])

    def echo() -> bytes:
        texts = call("echo", [b"<param><value><base64>", pybase64.b64encode(BLOB),
                              b"</base64></value></param>"])
        return pybase64.b64decode("".join(texts))

    return (add, echo, sock.close)


# -- core only: wirekit's checks with nothing around them ------------------------------------

def _core_exchange(sock: Any, conn: Any, first: bytes) -> bytes:
    """Send ``first`` (may be empty), then read one message's body through the core."""
    from wirekit.proto.http import NEED_DATA, Data, EndOfMessage

    if first:
        sock.sendall(first)
    body = []
    while True:
        event = conn.next_event()
        if event is NEED_DATA:
            data = sock.recv(65536)
            if not data:
                raise EOFError
            conn.receive_data(data)
        elif type(event) is Data:
            body.append(event.data)
        elif type(event) is EndOfMessage:
            return b"".join(body)


def _serve_core(announce: Callable[[int], None]) -> None:
    import socket

    from wirekit.proto import xmlrpc
    from wirekit.proto.http import Connection, Role
    from wirekit.rpc import Dispatcher

    dispatcher = Dispatcher()
    dispatcher.register_instance(Service())
    listener = socket.create_server(("127.0.0.1", 0))
    announce(listener.getsockname()[1])
    while True:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(Role.SERVER)
        with sock:
            try:
                while True:
                    call = xmlrpc.loads_call(_core_exchange(sock, conn, b""))
                    out = xmlrpc.dumps_response(dispatcher.call(call.method, call.params))
                    sock.sendall(conn.send_response(200, [("Content-Type", "text/xml")], out))
                    conn.start_next_cycle()
            except (OSError, EOFError):
                pass


def _core_xmlrpc(port: int) -> Calls:
    import socket

    from wirekit.proto import xmlrpc
    from wirekit.proto.http import Connection, Role

    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = Connection(Role.CLIENT)
    fields = [("Host", f"127.0.0.1:{port}"), ("Content-Type", "text/xml")]

    def call(name: str, *args: Any) -> Any:
        request = conn.send_request("POST", "/RPC2", fields, xmlrpc.dumps_call(name, args))
        body = _core_exchange(sock, conn, request)
        conn.start_next_cycle()
        return xmlrpc.loads_response(body)

    return (lambda: call("add", 3, 5), lambda: call("echo", BLOB), sock.close)


CLIENTS: dict[str, Callable[[int], Calls]] = {
    "stdlib-xmlrpc": _stdlib_xmlrpc, "wirekit-xmlrpc": _wirekit_xmlrpc,
    "floor-xmlrpc": _floor_xmlrpc, "core-xmlrpc": _core_xmlrpc,
    "wirekit-jsonrpc": _wirekit_jsonrpc, "multiprocessing": _multiprocessing,
    "wirekit-channel": _wirekit_channel, "pyro5": _pyro5, "rpyc": _rpyc,
}


def rate(call: Callable[[], Any], seconds: float) -> float:
    warm_end = time.perf_counter() + min(0.1, seconds / 4)
    while time.perf_counter() < warm_end:
        call()
    count, started = 0, time.perf_counter()
    end = started + seconds
    while (now := time.perf_counter()) < end:
        call()
        count += 1
    return count / (now - started)


KINDS = {
    "xmlrpc": ["stdlib-xmlrpc", "wirekit-xmlrpc", "wirekit-jsonrpc", "core-xmlrpc",
               "floor-xmlrpc"],
    "channel": ["multiprocessing", "wirekit-channel", "pyro5", "rpyc"],
}
RATIOS = [
    ("wirekit XML-RPC / stdlib xmlrpc", "wirekit-xmlrpc", "stdlib-xmlrpc", "3x, echo 10x"),
    ("wirekit JSON-RPC / stdlib xmlrpc", "wirekit-jsonrpc", "stdlib-xmlrpc", ""),
    ("core only (no shells) / stdlib", "core-xmlrpc", "stdlib-xmlrpc", "wirekit's ceiling"),
    ("floor (sockets + libxml2) / stdlib", "floor-xmlrpc", "stdlib-xmlrpc", "the ceiling"),
    ("wirekit channel / multiprocessing", "wirekit-channel", "multiprocessing", "1.0x"),
    ("wirekit channel / Pyro5", "wirekit-channel", "pyro5", "2x"),
    ("wirekit channel / rpyc", "wirekit-channel", "rpyc", ""),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve", metavar="KIND", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="per case, over all rounds (default 2)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved rounds, the best kept (default 5)")
    parser.add_argument("--only", choices=sorted(KINDS), help="one family of peers")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if len(cpus := _cpus()) >= 2:
        os.sched_setaffinity(0, {cpus[0]})
    kinds = KINDS[args.only] if args.only else [k for group in KINDS.values() for k in group]
    best: dict[str, list[float]] = {kind: [0.0, 0.0] for kind in kinds}
    # Interleaved rounds, each with fresh server processes, the best of each peer kept: on
    # a shared machine a round only ever runs slower, and a process can land in a slow
    # state for its whole life (seen here: the same server at 25k and 43k calls/s from one
    # start to the next), so one start per peer would measure luck.
    share = args.seconds / args.rounds
    for _ in range(args.rounds):
        for kind in kinds:
            with server_process(kind) as port:
                add, echo, close = CLIENTS[kind](port)
                try:
                    expected = TEXT if kind == "wirekit-jsonrpc" else BLOB
                    assert add() == 8 and echo() == expected, f"{kind} answered otherwise"
                    best[kind][0] = max(best[kind][0], rate(add, share))
                    best[kind][1] = max(best[kind][1], rate(echo, share))
                finally:
                    close()
    results = {kind: (add_rate, echo_rate) for kind, (add_rate, echo_rate) in best.items()}
    print(f"{'peer':<18} {'add(3, 5)/s':>12} {'1 MiB echo/s':>13}")
    for kind in kinds:
        print(f"{kind:<18} {results[kind][0]:>12,.0f} {results[kind][1]:>13,.1f}")
    print()
    print(f"{'ratio':<36} {'add':>6} {'echo':>6}  target")
    for label, ours, theirs, target in RATIOS:
        if ours in results and theirs in results:
            add_ratio = results[ours][0] / results[theirs][0]
            echo_ratio = results[ours][1] / results[theirs][1]
            print(f"{label:<36} {add_ratio:>5.2f}x {echo_ratio:>5.2f}x  {target}")


if __name__ == "__main__":
    main()
