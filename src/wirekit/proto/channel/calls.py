"""Remote calls on the channel: the messages of ``serve_object`` and ``Client.proxy()``.

A call is ``[name, [args...], {kwargs...}]`` and its answer ``[0, result]`` or
``[1, code, message]`` (a fault, with the codes of ``wirekit.proto.xmlrpc.fault``), each one
channel message encoded by the channel's serializer. One call is answered before the next is
read, so a connection's calls run in order.
"""

from __future__ import annotations

from typing import Any, Final

from wirekit.errors import RemoteProtocolError
from wirekit.proto.xmlrpc.fault import INVALID_REQUEST, Fault

__all__ = ["check_call", "fault_reply", "make_call", "read_reply", "result_reply"]

_OK: Final = 0
_FAULT: Final = 1


def make_call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    return [name, list(args), kwargs]


def check_call(call: Any) -> tuple[str, list[Any], dict[str, Any]]:
    """A received call's parts; a Fault (-32600) for anything else."""
    if type(call) is not list or len(call) != 3:
        raise Fault(INVALID_REQUEST, "Invalid request: a call is [name, args, kwargs]")
    name, args, kwargs = call
    if type(name) is not str or type(args) is not list or type(kwargs) is not dict \
            or (kwargs and not all(type(key) is str for key in kwargs)):
        raise Fault(INVALID_REQUEST, "Invalid request: a call is [name, args, kwargs]")
    return name, args, kwargs


def result_reply(result: Any) -> list[Any]:
    return [_OK, result]


def fault_reply(fault: Fault) -> list[Any]:
    return [_FAULT, fault.code, fault.message]


def read_reply(reply: Any) -> Any:
    """The result a reply carries; its Fault raised."""
    if type(reply) is list and len(reply) == 2 and reply[0] == _OK:
        return reply[1]
    if type(reply) is list and len(reply) == 3 and reply[0] == _FAULT \
            and type(reply[1]) is int and type(reply[2]) is str:
        raise Fault(reply[1], reply[2])
    raise RemoteProtocolError("malformed reply on the object channel")
