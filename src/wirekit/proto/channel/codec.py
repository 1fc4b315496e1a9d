"""How objects become channel messages: msgpack by default, pickle only when asked for.

**msgpack** (a kept C library) carries what JSON does plus bytes, and, through extension
types, the Python values a program expects back as they were sent:

=============  =====  =================================================================
Python         ext    payload
=============  =====  =================================================================
``tuple``      1      the items, packed as an array (so a tuple comes back a tuple)
``datetime``   2      ISO 8601 text (microseconds and the UTC offset kept; naive stays naive)
``date``       3      ISO 8601 text
``set``        4      the items, packed as an array
``frozenset``  5      the items, packed as an array
=============  =====  =================================================================

Decoding builds data and nothing else: no class is looked up and no code runs, whatever the
peer sends. Dict keys must be strings or bytes (msgpack's own rule, ``strict_map_key``): keys
a peer could pick to collide in a hash table never get in. Nesting is bounded by msgpack
itself (511 levels out, 1024 in).

**pickle** carries any object and, for the same reason, lets the peer run code on load
(``REDUCE`` of ``os.system``, SECURITY.md R04). wirekit's pickle serializer is there for
talking to code that only speaks pickle (``multiprocessing.connection``'s ``send``/``recv``);
it loads through :class:`~wirekit.proto.channel.pickling.RestrictedUnpickler`, which resolves
no global outside an allow-list, and only on an authenticated channel (the shells refuse it
without an authkey).
"""

from __future__ import annotations

import datetime as _dt
import functools
import pickle
from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol

import msgpack

from wirekit.errors import ConfigError, LocalProtocolError, RemoteProtocolError
from wirekit.proto.channel.pickling import DEFAULT_ALLOWED, RestrictedUnpickler

__all__ = ["MsgpackSerializer", "PickleSerializer", "Serializer", "make_serializer"]

_TUPLE, _DATETIME, _DATE, _SET, _FROZENSET = 1, 2, 3, 4, 5
_PICKLE_PROTOCOL: Final = pickle.DEFAULT_PROTOCOL  # what ForkingPickler sends


class Serializer(Protocol):
    """Objects to message payloads and back; ``dumps`` raises LocalProtocolError for what
    it cannot carry, ``loads`` RemoteProtocolError for what it will not read."""

    name: str

    def dumps(self, obj: Any) -> bytes: ...

    def loads(self, data: bytes | bytearray) -> Any: ...


def _packb(obj: Any) -> bytes:
    return msgpack.packb(obj, default=_default, use_bin_type=True, strict_types=True)


def _items(code: int) -> Callable[[Any], msgpack.ExtType]:
    return lambda obj: msgpack.ExtType(code, _packb(list(obj)))


def _text(code: int) -> Callable[[Any], msgpack.ExtType]:
    return lambda obj: msgpack.ExtType(code, obj.isoformat().encode())


_EXTENSIONS: Final[dict[type, Callable[[Any], msgpack.ExtType]]] = {
    tuple: _items(_TUPLE), _dt.datetime: _text(_DATETIME), _dt.date: _text(_DATE),
    set: _items(_SET), frozenset: _items(_FROZENSET),
}
# Subclasses of what msgpack packs (an IntEnum, a str subclass, a namedtuple...) travel as
# their base type; bool before int, since a bool is an int.
_BASES: Final[tuple[tuple[type, Callable[[Any], Any]], ...]] = (
    (bool, bool), (int, int), (float, float), (str, str), (bytes, bytes), (list, list),
    (dict, dict), (tuple, _items(_TUPLE)),
)


def _default(obj: Any) -> Any:
    """msgpack's hook for what it does not pack itself (``strict_types``: subclasses too)."""
    convert = _EXTENSIONS.get(type(obj))
    if convert is not None:
        return convert(obj)
    for base, to_base in _BASES:
        if isinstance(obj, base):
            return to_base(obj)
    raise TypeError(f"msgpack cannot carry a {type(obj).__name__}")


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _TUPLE:
        return tuple(_unpackb(data))
    if code == _DATETIME:
        return _dt.datetime.fromisoformat(data.decode("ascii"))
    if code == _DATE:
        return _dt.date.fromisoformat(data.decode("ascii"))
    if code == _SET:
        return set(_unpackb(data))
    if code == _FROZENSET:
        return frozenset(_unpackb(data))
    raise ValueError(f"unknown msgpack extension type {code}")


#: (a C-level partial: no Python frame per message)
_unpackb: Final[Callable[[bytes | bytearray], Any]] = functools.partial(
    msgpack.unpackb, ext_hook=_ext_hook, raw=False, use_list=True)


class MsgpackSerializer:
    """The default: msgpack with the extension types above. It keeps a packer (its buffer
    is reused from message to message), so one connection uses one at a time: each
    ``Client`` and each server connection makes its own."""

    name = "msgpack"

    def __init__(self) -> None:
        self._pack = msgpack.Packer(default=_default, use_bin_type=True, strict_types=True,
                                    autoreset=True).pack
        self._packer = msgpack.Packer(default=_default, use_bin_type=True, strict_types=True,
                                      autoreset=False)
        self._view: memoryview | None = None

    def dumps(self, obj: Any) -> bytes:
        try:
            return self._pack(obj)
        except (TypeError, ValueError, OverflowError) as exc:
            raise LocalProtocolError(f"cannot send this object over the channel: {exc}") \
                from None

    def dump_view(self, obj: Any) -> memoryview:
        """``obj`` encoded, as a view of this serializer's own buffer, valid until the next
        call: for a shell that sends it at once (``sendall``). A large message is then
        copied once, into a buffer that is reused, instead of into a fresh ``bytes`` whose
        megabytes are faulted in anew each time (measured: 112 µs -> 39 µs per MiB)."""
        packer = self._packer
        if self._view is not None:
            self._view.release()  # the packer refuses to change while its buffer is lent
        packer.reset()
        try:
            packer.pack(obj)
        except (TypeError, ValueError, OverflowError) as exc:
            packer.reset()
            raise LocalProtocolError(f"cannot send this object over the channel: {exc}") \
                from None
        self._view = view = packer.getbuffer()
        return view

    def loads(self, data: bytes | bytearray) -> Any:
        try:
            return _unpackb(data)
        except Exception as exc:  # msgpack raises many kinds (ExtraData, FormatError, ...)
            raise RemoteProtocolError(f"the message is not msgpack this channel can read "
                                      f"({type(exc).__name__}: {str(exc)[:80]})") from None


class PickleSerializer:
    """pickle out; the restricted unpickler in (``allow`` adds classes or
    ``(module, name)`` pairs to the default allow-list)."""

    name = "pickle"

    def __init__(self, allow: Iterable[Any] = ()) -> None:
        self.allowed = DEFAULT_ALLOWED | frozenset(_allowed_name(item) for item in allow)

    def dumps(self, obj: Any) -> bytes:
        try:
            return pickle.dumps(obj, _PICKLE_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
            raise LocalProtocolError(f"cannot pickle this object: {exc}") from None

    def loads(self, data: bytes | bytearray) -> Any:
        return RestrictedUnpickler.loads(data, self.allowed)


def _allowed_name(item: Any) -> tuple[str, str]:
    if isinstance(item, tuple) and len(item) == 2 and all(isinstance(p, str) for p in item):
        return item
    if isinstance(item, type):
        return item.__module__, item.__qualname__
    raise ConfigError(f"allow= takes classes or (module, name) pairs, not {item!r}")


def make_serializer(serializer: str | Serializer) -> Serializer:
    """``"msgpack"``, ``"pickle"`` or a serializer object."""
    if serializer == "msgpack":
        return MsgpackSerializer()
    if serializer == "pickle":
        return PickleSerializer()
    if isinstance(serializer, str) or not (hasattr(serializer, "dumps")
                                           and hasattr(serializer, "loads")):
        raise ConfigError(f"serializer must be 'msgpack', 'pickle' or an object with dumps "
                          f"and loads, not {serializer!r}")
    return serializer
