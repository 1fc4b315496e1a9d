"""The RPC server over real HTTP on loopback: the HTTP rules of ``server.py`` and ``body.py``,
and the hostile peers of SECURITY.md R06 and X01-X03 (bombs, XXE, huge bodies, a gzip bomb, a
multicall of 100,000 calls, deep JSON)."""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
import zlib
from collections.abc import Iterator

import pytest

from wirekit.http.client import Session
from wirekit.proto import xmlrpc
from wirekit.proto.xmlrpc import INVALID_REQUEST, PARSE_ERROR, Fault, RPCLimits
from wirekit.rpc import Dispatcher, JSONRPCApp, RPCServer, XMLRPCApp
from wirekit.testing import serve_wsgi

MiB = 1024 * 1024


def dispatcher() -> Dispatcher:
    d = Dispatcher()
    d.register(lambda a, b: a + b, "add")
    d.register(lambda value: value, "echo")

    def explode() -> None:
        raise RuntimeError("secret detail")

    d.register(explode)
    return d


@pytest.fixture
def xml_url() -> Iterator[str]:
    with serve_wsgi(XMLRPCApp(dispatcher())) as url:
        yield url


@pytest.fixture
def session() -> Iterator[Session]:
    with Session(raise_for_status=False) as s:
        yield s


def post_xml(session: Session, url: str, body: bytes, **headers: str):
    return session.post(url + "/RPC2", data=body,
                        headers={"Content-Type": "text/xml", **headers})


def fault_of(body: bytes) -> Fault:
    with pytest.raises(Fault) as caught:
        xmlrpc.loads_response(body)
    return caught.value


def raw_exchange(url: str, head: bytes, body: bytes = b"", timeout: float = 10) -> bytes:
    """Send ``head`` and ``body`` on a fresh socket; everything read until the server closes
    or a status line and its body have come."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head + body)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received:
                    head_part, _, rest = received.partition(b"\r\n\r\n")
                    for line in head_part.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:") and \
                                len(rest) >= int(line.split(b":")[1]):
                            return received
        except ConnectionResetError:
            pass
        return received


def test_a_call_answers_200_text_xml(xml_url, session):
    response = post_xml(session, xml_url, xmlrpc.dumps_call("add", [3, 5]))
    assert response.status == 200
    assert response.headers["content-type"] == "text/xml"
    assert xmlrpc.loads_response(response.content) == 8


def test_an_exception_is_a_fault_without_a_traceback(xml_url, session):
    response = post_xml(session, xml_url, xmlrpc.dumps_call("explode"))
    fault = fault_of(response.content)
    assert fault.message == "RuntimeError: secret detail"
    assert b"Traceback" not in response.content and b".py" not in response.content


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_anything_but_post_is_405(xml_url, session, method):
    response = session.request(method, xml_url + "/RPC2")
    assert response.status == 405
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", ""])
def test_a_content_type_a_browser_may_send_cross_site_is_415(xml_url, session, content_type):
    response = session.post(xml_url + "/", data=xmlrpc.dumps_call("add", [1, 2]),
                            headers={"Content-Type": content_type} if content_type else None)
    assert response.status == 415


def test_the_content_type_check_can_be_turned_off(session):
    with serve_wsgi(XMLRPCApp(dispatcher(), check_content_type=False)) as url:
        response = session.post(url + "/", data=xmlrpc.dumps_call("add", [1, 2]),
                                headers={"Content-Type": "text/plain"})
        assert xmlrpc.loads_response(response.content) == 3


def test_a_gzip_request_is_inflated(xml_url, session):
    body = gzip.compress(xmlrpc.dumps_call("echo", ["x" * 10000]))
    response = post_xml(session, xml_url, body, **{"Content-Encoding": "gzip"})
    assert xmlrpc.loads_response(response.content) == "x" * 10000


@pytest.mark.parametrize(("coding", "status"), [("br", 415), ("gzip", 400)])
def test_unknown_codings_and_corrupt_gzip_are_refused(xml_url, session, coding, status):
    response = post_xml(session, xml_url, b"not compressed", **{"Content-Encoding": coding})
    assert response.status == status


def test_a_gzip_bomb_stops_at_the_bound():
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MiB)
    bomb = b"".join(deflater.compress(zeros) for _ in range(1024)) + deflater.flush()  # 1 GiB
    assert len(bomb) < 2 * MiB
    with serve_wsgi(XMLRPCApp(dispatcher())) as url, Session(raise_for_status=False) as s:
        started = time.monotonic()
        response = post_xml(s, url, bomb, **{"Content-Encoding": "gzip"})
        assert response.status == 413
        assert time.monotonic() - started < 3.0


def _upload(url: str, head: bytes, piece: bytes, total: int) -> tuple[bytes, int]:
    """Send ``head`` then ``piece`` until ``total`` bytes went or the server stops reading;
    returns the server's answer and how much had been sent when it came."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)

        def send() -> None:
            nonlocal sent
            try:
                while sent < total:
                    sock.sendall(piece)
                    sent += len(piece)
            except OSError:
                pass  # the server closed: it read all it wanted

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        answer = sock.recv(65536)
        sent_when_answered = sent
        sender.join(10)
    return answer, sent_when_answered


def test_a_100_mb_content_length_is_refused_before_reading(xml_url):
    started = time.monotonic()
    answer, sent = _upload(xml_url, b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml"
                                    b"\r\nContent-Length: 104857600\r\n\r\n", b"x" * MiB,
                           100 * MiB)
    assert answer.startswith(b"HTTP/1.1 413 ")  # refused by its length, nothing buffered
    assert sent < 50 * MiB  # answered long before the body could have been read
    assert time.monotonic() - started < 5.0


def test_a_100_mb_chunked_body_is_cut_at_the_bound(xml_url):
    answer, sent = _upload(xml_url, b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml"
                                    b"\r\nTransfer-Encoding: chunked\r\n\r\n",
                           b"%x\r\n%s\r\n" % (MiB, b"x" * MiB), 100 * MiB)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert sent < 50 * MiB  # cut at the 10 MiB bound, not read to the end


@pytest.mark.parametrize("length", [b"-1", b"+5", b"5x", b"99999999999999999999999"])
def test_an_invalid_content_length_is_400(xml_url, length):
    answer = raw_exchange(xml_url, b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml"
                                   b"\r\nContent-Length: " + length + b"\r\n\r\n", b"hello")
    assert answer.startswith(b"HTTP/1.1 400 ")


def test_a_smaller_body_bound_is_kept(session):
    app = XMLRPCApp(dispatcher(), limits=RPCLimits(max_bytes=1024))
    with serve_wsgi(app) as url:
        assert post_xml(session, url, xmlrpc.dumps_call("echo", ["x" * 2000])).status == 413
        small = post_xml(session, url, xmlrpc.dumps_call("echo", ["x" * 500]))
        assert xmlrpc.loads_response(small.content) == "x" * 500


def test_a_billion_laughs_is_a_parse_fault_in_no_time(xml_url, session):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
            + b"".join(b'<!ENTITY a%d "%s">' % (i, b"&a;" * 10) for i in range(10))
            + b"]><methodCall><methodName>echo</methodName><params><param><value>&a9;</value>"
              b"</param></params></methodCall>")
    started = time.monotonic()
    fault = fault_of(post_xml(session, xml_url, bomb).content)
    assert fault.code == PARSE_ERROR
    assert time.monotonic() - started < 1.0


@pytest.fixture
def canary() -> Iterator[tuple[int, list[socket.socket]]]:
    """A loopback listener that must see no connection at all."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.3)
    accepted: list[socket.socket] = []
    yield listener.getsockname()[1], accepted
    with contextlib.suppress(TimeoutError):
        accepted.append(listener.accept()[0])
    for conn in accepted:
        conn.close()
    listener.close()
    assert accepted == [], "the server fetched an external entity or DTD"


@pytest.mark.parametrize("template", [
    b'<!DOCTYPE m [<!ENTITY e SYSTEM "http://127.0.0.1:%d/x">]>',
    b'<!DOCTYPE m PUBLIC "-//x//y" "http://127.0.0.1:%d/d.dtd">',
    b'<!DOCTYPE m [<!ENTITY %% pe SYSTEM "http://127.0.0.1:%d/p"> %%pe;]>',
])
def test_external_references_are_never_fetched(xml_url, session, canary, template):
    port, _ = canary
    body = (b"<?xml version='1.0'?>" + template % port
            + b"<methodCall><methodName>echo</methodName><params><param><value>&e;</value>"
              b"</param></params></methodCall>")
    fault = fault_of(post_xml(session, xml_url, body).content)
    assert fault.code == PARSE_ERROR


def test_a_multicall_of_100000_calls_is_refused(xml_url, session):
    call = "<value><struct><member><name>methodName</name><value>add</value></member>" \
           "</struct></value>"
    body = ("<?xml version='1.0'?><methodCall><methodName>system.multicall</methodName>"
            "<params><param><value><array><data>" + call * 100_000
            + "</data></array></value></param></params></methodCall>").encode()
    assert len(body) < 10 * MiB
    started = time.monotonic()
    fault = fault_of(post_xml(session, xml_url, body).content)
    assert fault.code == INVALID_REQUEST
    assert "100000" in fault.message
    assert time.monotonic() - started < 5.0


def test_deep_xml_and_deep_json_are_bounded_faults(session):
    depth = 50_000
    deep_xml = ("<methodCall><methodName>echo</methodName><params><param>"
                + "<value><array><data>" * depth + "</data></array></value>" * depth
                + "</param></params></methodCall>").encode()
    deep_json = b'{"jsonrpc": "2.0", "method": "echo", "params": ' + b"[" * depth \
        + b"]" * depth + b', "id": 1}'
    with serve_wsgi(XMLRPCApp(dispatcher())) as xml_url:
        assert fault_of(post_xml(session, xml_url, deep_xml).content).code == INVALID_REQUEST
    with serve_wsgi(JSONRPCApp(dispatcher())) as json_url:
        response = session.post(json_url + "/", data=deep_json,
                                headers={"Content-Type": "application/json"})
        assert response.json()["error"]["code"] in (PARSE_ERROR, INVALID_REQUEST)
        assert response.json()["id"] is None


def test_a_result_the_format_cannot_carry_is_an_internal_error(session):
    d = Dispatcher()
    d.register(lambda: 2**70, "huge")
    d.register(lambda: b"bytes", "raw")
    with serve_wsgi(XMLRPCApp(d)) as url:
        assert fault_of(post_xml(session, url, xmlrpc.dumps_call("huge")).content).code == -32603
    with serve_wsgi(JSONRPCApp(d)) as url:
        response = session.post(url + "/", data=b'{"jsonrpc":"2.0","method":"raw","id":1}',
                                headers={"Content-Type": "application/json"})
        assert response.json()["error"]["code"] == -32603


def test_rpcserver_is_a_simplexmlrpcserver_in_every_in_process_mode():
    for mode in ("sync", "threads", "async"):
        server = RPCServer("127.0.0.1:0", concurrency=mode)
        server.register_function(pow)

        @server.register_function(name="twice")
        def double(x):
            return 2 * x

        server.start()
        try:
            with Session() as s:
                body = s.post(server.url + "/RPC2", data=xmlrpc.dumps_call("pow", [2, 10]),
                              headers={"Content-Type": "text/xml"}).content
                assert xmlrpc.loads_response(body) == 1024
                body = s.post(server.url + "/RPC2", data=xmlrpc.dumps_call("twice", [21]),
                              headers={"Content-Type": "text/xml"}).content
                assert xmlrpc.loads_response(body) == 42
        finally:
            server.shutdown(timeout=10)
    assert "XML-RPC" in repr(server)


def test_concurrent_clients_are_served_at_once(xml_url):
    """Threads calling at the same time all get their own answers."""
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with Session() as s:
                for i in range(20):
                    body = post_xml(s, xml_url, xmlrpc.dumps_call("add", [n, i])).content
                    assert xmlrpc.loads_response(body) == n + i
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []


def _chunked(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start:start + size]


@pytest.mark.parametrize("value", [bytes(range(256)) * 8192, "x" * 300_000 + "!<&>"])
def test_a_large_call_in_many_pieces_is_read_whole(xml_url, session, value):
    """A 2 MiB call sent chunked in odd pieces is fed to the parser as it arrives; a '!' in
    a late piece sends the document through the guarded path, with the same answer."""
    body = xmlrpc.dumps_call("echo", [value])
    response = session.post(xml_url + "/RPC2", data=_chunked(body, 70_001),
                            headers={"Content-Type": "text/xml"})
    assert response.status == 200
    assert xmlrpc.loads_response(response.content) == value


def test_a_chunked_call_past_the_bound_is_refused_mid_way():
    limits = RPCLimits(max_bytes=200_000)
    with serve_wsgi(XMLRPCApp(dispatcher(), limits=limits)) as url, \
            Session(raise_for_status=False) as s:
        body = xmlrpc.dumps_call("echo", [b"\x00" * 300_000])
        response = s.post(url + "/RPC2", data=_chunked(body, 65536),
                          headers={"Content-Type": "text/xml"})
        assert response.status == 413
