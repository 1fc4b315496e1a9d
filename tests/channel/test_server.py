"""``serve_object`` on the connection-core contract: remote calls in every concurrency mode
(fork and prefork in a subprocess, which must not fork the test process), over TLS and a 0600
Unix socket, with the idle deadline and a graceful stop."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from wirekit.channel import ChannelClosed, Client, Listener, ObjectServer
from wirekit.config import DEFAULT_TIMEOUTS
from wirekit.errors import ConfigError, TLSError
from wirekit.net.tls import server_context
from wirekit.proto.xmlrpc import APPLICATION_ERROR, INVALID_PARAMS, Fault
from wirekit.rpc import Dispatcher

KEY = b"server-test-key"


class Calculator:
    """What the tests serve."""

    def __init__(self) -> None:
        self.calls = 0

    def add(self, a, b):
        self.calls += 1
        return a + b

    def echo(self, value):
        return value

    def describe(self, name, *, greeting="hello"):
        return f"{greeting} {name}"

    def div(self, a, b):
        return a / b



@pytest.fixture(params=["sync", "threads", "async"])
def server(request) -> Iterator[ObjectServer]:
    served = ObjectServer(Calculator(), "127.0.0.1:0", authkey=KEY, concurrency=request.param)
    served.start()
    yield served
    served.shutdown(timeout=10)


def test_remote_calls_in_each_in_process_mode(server):
    with Client(server.address, authkey=KEY) as conn:
        calc = conn.proxy()
        assert calc.add(3, 5) == 8
        value = {"t": (1, (2,)), "b": b"\x00" * 100_000, "d": dt.datetime(2024, 5, 6), "s": {1}}
        assert calc.echo(value) == value
        assert calc.describe("ann", greeting="hi") == "hi ann"
        with pytest.raises(Fault) as caught:
            calc.div(1, 0)
        assert caught.value.code == APPLICATION_ERROR
        with pytest.raises(Fault) as params:
            calc.add(1)
        assert params.value.code == INVALID_PARAMS
        assert "add" in conn.call("system.listMethods")
        assert calc.add(1, 1) == 2  # still usable after faults
        assert "RemoteObject" in repr(calc)


def test_many_clients_at_once(server):
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            with Client(server.address, authkey=KEY) as conn:
                proxy = conn.proxy()
                for i in range(50):
                    assert proxy.add(n, i) == n + i
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []


SUBPROCESS = textwrap.dedent("""
    import sys
    from wirekit.channel import ObjectServer

    class Calculator:
        def add(self, a, b):
            return a + b

        def pid(self):
            import os
            return os.getpid()

    server = ObjectServer(Calculator(), "127.0.0.1:0", authkey=b"server-test-key",
                          concurrency=sys.argv[1])
    server.serve_forever(ready=lambda: print(server.address.port, flush=True))
""")


@pytest.mark.parametrize("mode", ["fork", "prefork"])
def test_remote_calls_in_the_forking_modes(mode):
    proc = subprocess.Popen([sys.executable, "-c", SUBPROCESS, mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        pids = set()
        for _ in range(3):
            with Client(("127.0.0.1", port), authkey=KEY) as conn:
                assert conn.proxy().add(20, 22) == 42
                pids.add(conn.proxy().pid())
        assert proc.pid not in pids  # served by a child, not the parent
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str, str]:
    folder = tmp_path_factory.mktemp("channel-tls")
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key, ca_file = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    return str(cert), str(key), str(ca_file)


def test_tls_wraps_the_handshake_and_the_calls(certificate):
    import ssl

    cert, key, ca_file = certificate
    served = ObjectServer(Calculator(), "127.0.0.1:0", authkey=KEY,
                          tls=server_context(cert, key))
    served.start()
    try:
        trusting = ssl.create_default_context(cafile=ca_file)
        with Client(served.address, authkey=KEY, tls=trusting) as conn:
            assert conn.stream.is_tls
            assert conn.proxy().add(1, 2) == 3
        with pytest.raises(TLSError):
            Client(served.address, authkey=KEY, tls=True)  # the test CA is not trusted
    finally:
        served.shutdown(timeout=10)


def test_a_unix_socket_is_0600(tmp_path: Path):
    path = str(tmp_path / "channel.sock")
    old_umask = os.umask(0)
    try:
        served = ObjectServer(Calculator(), path, authkey=KEY)
    finally:
        os.umask(old_umask)
    served.start()
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with Client(path, authkey=KEY) as conn:
            assert conn.proxy().add(2, 3) == 5
    finally:
        served.shutdown(timeout=10)
    with pytest.raises(ConfigError):
        Client("\0abstract", authkey=KEY)


@contextlib.contextmanager
def idle_after(seconds: float) -> Iterator[Client]:
    """A client of a server whose connections go after ``seconds`` of silence."""
    timeouts = dataclasses.replace(DEFAULT_TIMEOUTS, idle=seconds)
    served = ObjectServer(Calculator(), "127.0.0.1:0", authkey=KEY, timeouts=timeouts)
    served.start()
    try:
        with Client(served.address, authkey=KEY) as conn:
            yield conn
    finally:
        served.shutdown(timeout=10)


def closed_after(conn: Client) -> float:
    """Seconds until the server closes ``conn`` (at most 5)."""
    started = time.monotonic()
    with pytest.raises(ChannelClosed):
        conn.recv_bytes(timeout=5)
    return time.monotonic() - started


def test_an_idle_connection_is_closed_at_the_idle_deadline():
    with idle_after(0.5) as conn:
        assert conn.proxy().add(1, 1) == 2
        assert 0.4 <= closed_after(conn) < 2.0


def test_calls_keep_a_connection_past_its_idle_deadline():
    """The idle deadline moves lazily (not at every call): calls keep coming for three idle
    periods, and the connection still answers; silence then closes it within two periods."""
    with idle_after(0.4) as conn:
        remote = conn.proxy()
        end = time.monotonic() + 1.2
        while time.monotonic() < end:
            assert remote.add(1, 2) == 3
            conn.poll(0.1)  # nothing comes: a pause between calls, bounded
        assert 0.3 <= closed_after(conn) < 1.5


class Gate:
    """A method that runs until the test lets it finish."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def hold(self) -> str:
        self.started.set()
        assert self.release.wait(10)
        return "done"


@pytest.mark.parametrize("mode", ["threads", "async"])
def test_a_graceful_stop_finishes_the_call_in_progress(mode):
    gate = Gate()
    served = ObjectServer(gate, "127.0.0.1:0", authkey=KEY, concurrency=mode)
    served.start()
    with Client(served.address, authkey=KEY) as conn:
        conn.send(["hold", [], {}])
        assert gate.started.wait(10)  # the call is running
        stopper = threading.Thread(target=served.shutdown, kwargs={"timeout": 10})
        stopper.start()
        gate.release.set()
        assert conn.recv(timeout=5) == [0, "done"]  # answered, then
        with pytest.raises(ChannelClosed):
            conn.recv(timeout=5)  # closed
        stopper.join(10)
    assert served.stopped.is_set()


def test_a_listener_over_tls_and_on_a_unix_socket(certificate, short_tmp):
    import ssl

    cert, key, ca_file = certificate
    trusting = ssl.create_default_context(cafile=ca_file)
    path = str(short_tmp / "listen.sock")
    for address, server_tls, client_tls in (("127.0.0.1:0", server_context(cert, key),
                                             trusting), (path, None, None)):
        with Listener(address, authkey=KEY, tls=server_tls) as listener:
            received: list[object] = []

            def serve(listener: Listener = listener, received: list = received) -> None:
                with listener.accept(timeout=10) as conn:
                    received.append(conn.recv())
                    conn.send("ok")

            worker = threading.Thread(target=serve)
            worker.start()
            with Client(listener.address if client_tls else path, authkey=KEY,
                        tls=client_tls) as conn:
                conn.send(("hello", b"\x00"))
                assert conn.recv(timeout=10) == "ok"
                assert conn.stream.is_tls == (client_tls is not None)
            worker.join(10)
            assert received == [("hello", b"\x00")]
        if address == path:
            assert not os.path.exists(path)  # the listener removed its socket file


def test_a_dispatcher_can_be_given_and_options_are_checked():
    dispatcher = Dispatcher()
    dispatcher.register(lambda: "pong", "ping")
    served = ObjectServer(None, "127.0.0.1:0", authkey=KEY, dispatcher=dispatcher).start()
    try:
        with Client(served.address, authkey=KEY) as conn:
            assert conn.call("ping") == "pong"
        assert "ObjectServer" in repr(served)
    finally:
        served.shutdown(timeout=10)
    with pytest.raises(ConfigError):
        ObjectServer(None, "127.0.0.1:0", authkey=KEY)
    with pytest.raises(ConfigError):
        ObjectServer(Calculator(), "127.0.0.1:0", authkey="text, not bytes")  # type: ignore[arg-type]
