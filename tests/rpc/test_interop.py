"""XML-RPC interop with the standard library, both ways: ``xmlrpc.client.ServerProxy`` against
wirekit's server in every in-process concurrency mode, and wirekit's proxy against
``xmlrpc.server.SimpleXMLRPCServer``."""

from __future__ import annotations

import datetime as dt
import threading
import xmlrpc.client
import xmlrpc.server
from collections.abc import Iterator

import pytest

from wirekit.proto.xmlrpc import APPLICATION_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND, Fault
from wirekit.rpc import RPCServer, XMLRPCProxy

VALUES = [0, -5, 2**31 - 1, True, False, 2.5, "", "text <&> \u2603", b"\x00\x01\xff",
          dt.datetime(2024, 5, 6, 7, 8, 9), None, [1, [2, "three"]], {"k": {"n": [None]}}]


class Calculator:
    def add(self, a, b):
        """Return a + b."""
        return a + b

    def div(self, a, b):
        return a / b

    def echo(self, value):
        return value

    def _hidden(self):
        return "must not be reachable"


@pytest.fixture(params=["sync", "threads", "async"])
def wirekit_url(request) -> Iterator[str]:
    server = RPCServer("127.0.0.1:0", concurrency=request.param)
    server.register_instance(Calculator())
    server.start()
    yield server.url + "/RPC2"
    server.shutdown(timeout=10)


@pytest.fixture
def stdlib_proxy(wirekit_url) -> Iterator[xmlrpc.client.ServerProxy]:
    with xmlrpc.client.ServerProxy(wirekit_url, allow_none=True,
                                   use_builtin_types=True) as proxy:
        yield proxy


def test_the_stdlib_client_calls_our_server(stdlib_proxy):
    assert stdlib_proxy.add(3, 5) == 8
    for value in VALUES:
        expected = list(value) if isinstance(value, tuple) else value
        assert stdlib_proxy.echo(value) == expected


def test_the_stdlib_client_sees_our_faults_with_their_codes(stdlib_proxy):
    with pytest.raises(xmlrpc.client.Fault) as caught:
        stdlib_proxy.div(1, 0)
    assert caught.value.faultCode == APPLICATION_ERROR
    assert "ZeroDivisionError" in caught.value.faultString
    with pytest.raises(xmlrpc.client.Fault) as missing:
        stdlib_proxy._hidden()
    assert missing.value.faultCode == METHOD_NOT_FOUND
    with pytest.raises(xmlrpc.client.Fault) as params:
        stdlib_proxy.add(1)
    assert params.value.faultCode == INVALID_PARAMS


def test_the_stdlib_client_introspects_and_multicalls(stdlib_proxy):
    methods = stdlib_proxy.system.listMethods()
    assert {"add", "div", "echo", "system.multicall"} <= set(methods)
    assert "_hidden" not in methods
    assert stdlib_proxy.system.methodHelp("add") == "Return a + b."
    multi = xmlrpc.client.MultiCall(stdlib_proxy)
    multi.add(1, 2)
    multi.echo("x")
    multi.div(1, 0)
    results = multi()
    assert results[0] == 3
    assert results[1] == "x"
    with pytest.raises(xmlrpc.client.Fault):
        results[2]


def test_the_stdlib_client_reuses_one_connection(stdlib_proxy):
    for i in range(50):
        assert stdlib_proxy.add(i, 1) == i + 1


# -- wirekit's proxy against the standard library's server ------------------------------------

@pytest.fixture
def stdlib_url() -> Iterator[str]:
    server = xmlrpc.server.SimpleXMLRPCServer(("127.0.0.1", 0), logRequests=False,
                                              allow_none=True, use_builtin_types=True)
    server.register_instance(Calculator())
    server.register_introspection_functions()
    server.register_multicall_functions()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/RPC2"
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_our_proxy_calls_the_stdlib_server(stdlib_url):
    with XMLRPCProxy(stdlib_url) as proxy:
        assert proxy.add(3, 5) == 8
        for value in VALUES:
            expected = list(value) if isinstance(value, tuple) else value
            assert proxy.echo(value) == expected
        assert proxy.div(2**40, 2**20) == 2.0**20  # the stdlib reads <i8> (writes no int > i4)


def test_our_proxy_reads_the_stdlib_servers_faults(stdlib_url):
    with XMLRPCProxy(stdlib_url) as proxy, pytest.raises(Fault) as caught:
        proxy.div(1, 0)
    assert caught.value.code == 1  # the stdlib's code for every exception
    assert "ZeroDivisionError" in caught.value.message


def test_our_proxy_introspects_and_batches_on_the_stdlib_server(stdlib_url):
    with XMLRPCProxy(stdlib_url) as proxy:
        assert "add" in proxy.system.listMethods()
        with proxy.batch() as batch:
            total = batch.add(3, 5)
            broken = batch.div(1, 0)
            echoed = batch.echo([1, "a"])
        assert total.result == 8
        assert echoed.result == [1, "a"]
        assert broken.fault is not None and broken.fault.code == 1
        with pytest.raises(Fault):
            _ = broken.result
        results = proxy.system.multicall([{"methodName": "add", "params": [1, 2]}])
        assert results == [[3]]
