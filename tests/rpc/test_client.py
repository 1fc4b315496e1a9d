"""The proxies over the HTTP client: calls, batches, notifications, and what the ``Session``
brings (TLS verified, auth, HTTP errors)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

from wirekit.errors import ConfigError, RemoteProtocolError, TLSError
from wirekit.http.client import HTTPError, Session
from wirekit.net.tls import server_context
from wirekit.proto.xmlrpc import APPLICATION_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, Fault
from wirekit.rpc import (
    Dispatcher,
    JSONRPCApp,
    JSONRPCProxy,
    Pending,
    RPCLimits,
    RPCServer,
    XMLRPCApp,
    XMLRPCProxy,
)
from wirekit.testing import serve_wsgi

CALLS: list[Any] = []


def dispatcher() -> Dispatcher:
    d = Dispatcher()
    d.register(lambda a, b: a + b, "add")
    d.register(lambda minuend, subtrahend: minuend - subtrahend, "subtract")
    d.register(lambda *args: CALLS.append(args), "record")
    d.register(lambda: "the remote batch", "batch")
    d.register(lambda a, b: a / b, "div")
    return d


@pytest.fixture
def xml_url() -> Iterator[str]:
    with serve_wsgi(XMLRPCApp(dispatcher())) as url:
        yield url + "/RPC2"


@pytest.fixture
def json_url() -> Iterator[str]:
    with serve_wsgi(JSONRPCApp(dispatcher())) as url:
        yield url + "/"


def test_xmlrpc_calls_faults_and_the_escape_hatch(xml_url):
    with XMLRPCProxy(xml_url) as proxy:
        assert proxy.add(3, 5) == 8
        assert proxy.call("batch") == "the remote batch"  # a name the proxy uses itself
        with pytest.raises(Fault) as caught:
            proxy.nothing()
        assert caught.value.code == METHOD_NOT_FOUND
        with pytest.raises(ConfigError):
            proxy.add(a=1, b=2)
        with pytest.raises(AttributeError):
            proxy._private  # noqa: B018 - the attribute access is the test
        assert repr(proxy.system.listMethods) == "<remote method system.listMethods>"


def test_xmlrpc_batch_runs_as_one_multicall(xml_url):
    with XMLRPCProxy(xml_url) as proxy:
        batch = proxy.batch()
        total = batch.add(3, 5)
        ratio = batch.div(1, 0)
        named = batch.call("batch")
        assert not total.done
        with pytest.raises(RuntimeError):
            _ = total.result
        assert batch.run() == [total, ratio, named]
        assert (total.result, named.result) == (8, "the remote batch")
        assert ratio.fault is not None and ratio.fault.code == APPLICATION_ERROR
        with pytest.raises(RuntimeError):
            batch.add(1, 1)  # already ran
        with proxy.batch() as empty:
            pass
        assert empty.run() == []


def test_a_batch_is_not_sent_when_its_block_raises(xml_url):
    with XMLRPCProxy(xml_url) as proxy:
        with pytest.raises(KeyError), proxy.batch() as batch:
            pending = batch.add(1, 2)
            raise KeyError("stop")
        assert not pending.done


def test_jsonrpc_by_position_by_name_and_faults(json_url):
    with JSONRPCProxy(json_url) as proxy:
        assert proxy.add(1, 2) == 3
        assert proxy.subtract(minuend=42, subtrahend=23) == 19
        with pytest.raises(Fault) as caught:
            proxy.div(1, 0)
        assert caught.value.code == APPLICATION_ERROR
        with pytest.raises(ConfigError):
            proxy.add(1, b=2)


def test_jsonrpc_notifications_run_and_answer_nothing(json_url):
    CALLS.clear()
    with JSONRPCProxy(json_url) as proxy:
        assert proxy.notify("record", "a", 1) is None
        assert proxy.notify("does-not-exist") is None  # no error comes back for it
    assert CALLS == [("a", 1)]


def test_jsonrpc_batches(json_url):
    CALLS.clear()
    with JSONRPCProxy(json_url) as proxy:
        with proxy.batch() as batch:
            first = batch.add(1, 2)
            second = batch.subtract(minuend=5, subtrahend=3)
            batch.notify("record", "in a batch")
            missing = batch.missing()
        assert (first.result, second.result) == (3, 2)
        assert missing.fault is not None and missing.fault.code == METHOD_NOT_FOUND
        assert CALLS == [("in a batch",)]
        with proxy.batch() as only_notes:
            only_notes.notify("record", "alone")
        assert only_notes.run() == []
        assert CALLS[-1] == ("alone",)
        assert "pending" in repr(Pending("x"))


def test_a_refused_batch_raises_its_fault():
    small = JSONRPCApp(dispatcher(), limits=RPCLimits(max_calls=1))
    with serve_wsgi(small) as url, JSONRPCProxy(url + "/") as proxy:
        with pytest.raises(Fault) as caught, proxy.batch() as batch:
            batch.add(1, 2)
            batch.add(3, 4)
        assert caught.value.code == INVALID_REQUEST


def test_a_response_for_another_id_is_refused():
    def liar(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["wsgi.input"].read()
        body = b'{"jsonrpc":"2.0","result":1,"id":999}'
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    with serve_wsgi(liar) as url, JSONRPCProxy(url) as proxy:
        with pytest.raises(RemoteProtocolError):
            proxy.add(1, 2)
        with pytest.raises(RemoteProtocolError), proxy.batch() as batch:
            batch.add(1, 2)


def busy(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Length", "0")])
    return []


def test_http_errors_are_http_errors(xml_url):
    with XMLRPCProxy(xml_url.removesuffix("/RPC2") + "/any/path") as proxy:
        assert proxy.add(1, 1) == 2  # any path is the endpoint
    with serve_wsgi(busy) as url, XMLRPCProxy(url) as proxy, \
            pytest.raises(HTTPError) as caught:
        proxy.add(1, 2)
    assert caught.value.status == 503


def _basic_auth(app: Any, user: str, password: str) -> Any:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def guarded(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_AUTHORIZATION") != expected:
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="rpc"')])
            return [b"who are you?"]
        return app(environ, start_response)

    return guarded


def test_auth_from_the_session_and_from_the_url():
    with serve_wsgi(_basic_auth(XMLRPCApp(dispatcher()), "ann", "s3cret")) as url:
        with XMLRPCProxy(url, auth=("ann", "s3cret")) as proxy:
            assert proxy.add(1, 2) == 3
        with XMLRPCProxy(url.replace("http://", "http://ann:s3cret@")) as proxy:
            assert proxy.add(2, 2) == 4
        with XMLRPCProxy(url) as proxy, pytest.raises(HTTPError) as caught:
            proxy.add(1, 2)
        assert caught.value.status == 401


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    folder = tmp_path_factory.mktemp("rpc-tls")
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key, ca_file = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    return str(cert), str(key), str(ca_file)


def test_tls_is_verified_by_default(tls_files):
    cert, key, ca_file = tls_files
    server = RPCServer("127.0.0.1:0", jsonrpc=True, tls=server_context(cert, key))
    server.register_function(lambda a, b: a + b, "add")
    server.start()
    try:
        assert server.url.startswith("https://")
        with JSONRPCProxy(server.url, verify=ca_file) as proxy:
            assert proxy.add(20, 22) == 42
        with JSONRPCProxy(server.url) as proxy, pytest.raises(TLSError):
            proxy.add(1, 2)  # the test CA is not trusted by default
    finally:
        server.shutdown(timeout=10)


def test_a_session_passed_in_is_shared_and_left_open(xml_url):
    with Session() as session:
        with XMLRPCProxy(xml_url, session=session) as proxy:
            assert proxy.add(1, 2) == 3
        with XMLRPCProxy(xml_url, session=session) as again:
            assert again.add(2, 3) == 5  # the session still works after the first closed


def test_a_response_past_the_bound_stops_the_read():
    """A server that answers without end: the proxy stops at ``max_bytes`` and drops the
    connection, instead of reading on (the bytes are not even kept)."""
    import time

    from wirekit.errors import MessageTooLarge
    from wirekit.proto.xmlrpc import RPCLimits

    def endless(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/xml")])  # chunked, no end
        yield b"<?xml version='1.0'?><methodResponse><params><param><value><string>"
        for _ in range(100_000):  # 6.5 GB if read to the end
            yield b"x" * 65536

    with serve_wsgi(endless) as url, \
            XMLRPCProxy(url, limits=RPCLimits(max_bytes=1024 * 1024)) as proxy:
        started = time.monotonic()
        with pytest.raises(MessageTooLarge):
            proxy.anything()
        assert time.monotonic() - started < 5
