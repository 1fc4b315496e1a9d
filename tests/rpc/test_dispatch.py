"""The one dispatcher: which names resolve (SECURITY.md R04, R06) and how calls fail."""

from __future__ import annotations

import math
import time

import pytest

from wirekit.errors import ConfigError
from wirekit.proto.xmlrpc import (
    APPLICATION_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    Fault,
    RPCLimits,
)
from wirekit.rpc import Dispatcher


class Service:
    """A service with every kind of attribute."""

    greeting = "hello"
    module = math

    class Nested:
        def run(self) -> str:
            return "ran"

    def __init__(self) -> None:
        self.touched = False
        self.child = Service.Nested()
        self.hook = lambda: "callable attribute"

    def add(self, a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @staticmethod
    def twice(x: int) -> int:
        return 2 * x

    @classmethod
    def name(cls) -> str:
        return cls.__name__

    @property
    def danger(self) -> str:
        self.touched = True
        return "ran a property"

    def _private(self) -> str:
        return "private"

    def __secret__(self) -> str:
        return "dunder"

    def fails(self) -> None:
        raise ValueError("bad value")

    def type_error_inside(self) -> None:
        return len(5)  # type: ignore[arg-type]


@pytest.fixture
def service() -> Service:
    return Service()


@pytest.fixture
def dispatcher(service: Service) -> Dispatcher:
    d = Dispatcher()
    d.register_instance(service)
    return d


def test_public_methods_of_an_instance_are_called_by_name(dispatcher):
    assert dispatcher.call("add", [3, 5]) == 8
    assert dispatcher.call("twice", [4]) == 8
    assert dispatcher.call("name", []) == "Service"


@pytest.mark.parametrize("name", [
    "_private", "__secret__", "__class__", "__init__", "__class__.__init__.__globals__",
    "add.__globals__", "child.run", "Nested", "module", "module.sqrt", "greeting", "danger",
    "hook", "touched", "", ".", "add.", "nothing", "a b", "add\x00",
])
def test_names_that_are_not_public_methods_are_never_reached(dispatcher, service, name):
    with pytest.raises(Fault) as caught:
        dispatcher.call(name, [])
    assert caught.value.code == METHOD_NOT_FOUND
    assert not service.touched  # a property's getter never ran


def test_a_prefixed_instance_answers_only_under_its_prefix(service):
    d = Dispatcher()
    d.register_instance(service, prefix="math")
    assert d.call("math.add", [1, 2]) == 3
    for name in ("add", "math", "math.add.x", "mathadd", "math._private"):
        with pytest.raises(Fault):
            d.call(name, [])


def test_registered_functions_by_name_decorator_and_dotted_name():
    d = Dispatcher()

    @d.register
    def add(a, b):
        return a + b

    @d.register(name="math.pow")
    def power(a, b):
        return a**b

    d.register(len)
    assert (d.call("add", [1, 2]), d.call("math.pow", [2, 10]), d.call("len", ["abc"])) == (
        3, 1024, 3)
    assert add(1, 1) == 2  # the decorator returns the function unchanged


@pytest.mark.parametrize("name", ["_x", "a._b", "a..b", "", "__init__"])
def test_private_names_cannot_even_be_registered(name):
    with pytest.raises(ConfigError):
        Dispatcher().register(len, name)
    with pytest.raises(ConfigError):
        Dispatcher().register_instance(object(), prefix=name or "_")


def test_arguments_that_do_not_bind_are_invalid_params(dispatcher):
    for params in ([1], [1, 2, 3], {"a": 1, "c": 2}):
        with pytest.raises(Fault) as caught:
            dispatcher.call("add", params)
        assert caught.value.code == INVALID_PARAMS
    assert dispatcher.call("add", {"a": 1, "b": 2}) == 3


def test_exceptions_inside_a_method_are_application_errors_with_type_and_message(dispatcher):
    with pytest.raises(Fault) as caught:
        dispatcher.call("fails", [])
    assert caught.value.code == APPLICATION_ERROR
    assert caught.value.message == "ValueError: bad value"
    with pytest.raises(Fault) as inner:
        dispatcher.call("type_error_inside", [])  # a TypeError raised inside is the method's
    assert inner.value.code == APPLICATION_ERROR


def test_expose_errors_false_sends_the_type_only(service):
    d = Dispatcher(expose_errors=False)
    d.register_instance(service)
    with pytest.raises(Fault) as caught:
        d.call("fails", [])
    assert caught.value.message == "ValueError"


def test_a_methods_own_fault_passes_unchanged():
    d = Dispatcher()

    def refuse():
        raise Fault(4, "Too many parameters")

    d.register(refuse)
    with pytest.raises(Fault) as caught:
        d.call("refuse")
    assert (caught.value.code, caught.value.message) == (4, "Too many parameters")


def test_introspection(dispatcher):
    names = dispatcher.call("system.listMethods")
    assert names == sorted(names)
    assert {"add", "twice", "name", "fails", "system.listMethods", "system.methodHelp",
            "system.methodSignature", "system.multicall"} <= set(names)
    assert not {n for n in names if n.startswith("_") or n in ("danger", "hook", "Nested")}
    assert dispatcher.call("system.methodHelp", ["add"]) == "Add two integers."
    assert dispatcher.call("system.methodHelp", ["fails"]) == ""
    assert dispatcher.call("system.methodSignature", ["add"]) == [["int", "int", "int"]]
    assert dispatcher.call("system.methodSignature", ["fails"]) == [["nil"]]
    assert dispatcher.call("system.methodSignature", ["type_error_inside"]) == [["nil"]]
    with pytest.raises(Fault):
        dispatcher.call("system.methodHelp", ["_private"])


def test_without_introspection_and_multicall():
    d = Dispatcher(introspection=False, multicall=False)
    for name in ("system.listMethods", "system.multicall"):
        with pytest.raises(Fault):
            d.call(name, [])


def test_multicall_answers_each_call_in_order(dispatcher):
    results = dispatcher.call("system.multicall", [[
        {"methodName": "add", "params": [1, 2]},
        {"methodName": "fails", "params": []},
        {"methodName": "_private", "params": []},
        {"methodName": "twice", "params": [21]},
    ]])
    assert results[0] == [3]
    assert results[1] == {"faultCode": APPLICATION_ERROR, "faultString": "ValueError: bad value"}
    assert results[2]["faultCode"] == METHOD_NOT_FOUND
    assert results[3] == [42]


def test_multicall_is_bounded_and_never_nested(dispatcher):
    huge = [{"methodName": "add", "params": [1, 2]}] * 100_000
    started = time.monotonic()
    with pytest.raises(Fault) as caught:
        dispatcher.call("system.multicall", [huge])
    assert caught.value.code == INVALID_REQUEST
    assert time.monotonic() - started < 0.5
    nested = dispatcher.call("system.multicall", [[
        {"methodName": "system.multicall", "params": [[{"methodName": "add",
                                                        "params": [1, 2]}]]}]])
    assert nested[0]["faultCode"] == INVALID_REQUEST
    small = Dispatcher(limits=RPCLimits(max_calls=2))
    small.register(abs)
    assert small.call("system.multicall", [[{"methodName": "abs", "params": [-1]}] * 2]) == [
        [1], [1]]
    with pytest.raises(Fault):
        small.call("system.multicall", [[{"methodName": "abs", "params": [-1]}] * 3])


@pytest.mark.parametrize("calls", [
    "not a list", [1], [{"params": []}], [{"methodName": "add", "params": "x"}],
])
def test_malformed_multicalls_fault(dispatcher, calls):
    try:
        results = dispatcher.call("system.multicall", [calls])
    except Fault as fault:
        assert fault.code in (INVALID_PARAMS, INVALID_REQUEST)
    else:
        assert results[0]["faultCode"] in (INVALID_PARAMS, INVALID_REQUEST)
