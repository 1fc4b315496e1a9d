"""The channel's serializers: msgpack with the extension types, and the restricted unpickler
that loads nothing outside its allow-list (SECURITY.md R04)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import fractions
import os
import pickle
import uuid
from collections import OrderedDict, deque, namedtuple
from pathlib import Path

import pytest

from wirekit.errors import ConfigError, LocalProtocolError, RemoteProtocolError
from wirekit.proto.channel import (
    MsgpackSerializer,
    PickleSerializer,
    RestrictedUnpickler,
    make_serializer,
)

UTC_PLUS_2 = dt.timezone(dt.timedelta(hours=2))
ROUND_TRIPS = [
    None, True, 0, -1, 2**63 - 1, 1.5, "", "text \u2603", b"", b"\x00\xff" * 1000,
    [], [1, [2, [3]]], {}, {"a": {"b": [None]}}, {b"raw": 1},
    (), (1, (2, "three")), {"t": (1, 2)}, [(1,), ((2,),)],
    dt.datetime(2024, 2, 29, 12, 30, 45, 123456), dt.datetime(2024, 1, 1, tzinfo=UTC_PLUS_2),
    dt.date(1999, 12, 31), {1, 2, 3}, frozenset({"a"}), {"s": {(1, 2)}},
]


@pytest.mark.parametrize("value", ROUND_TRIPS, ids=[repr(v)[:30] for v in ROUND_TRIPS])
def test_msgpack_round_trips_keep_python_types(value):
    serializer = MsgpackSerializer()
    back = serializer.loads(serializer.dumps(value))
    assert back == value
    assert type(back) is type(value)
    if isinstance(value, dt.datetime):
        assert back.tzinfo == value.tzinfo


def test_subclasses_travel_as_their_base_type():
    class Color(enum.IntEnum):
        RED = 1

    Point = namedtuple("Point", "x y")
    serializer = MsgpackSerializer()
    assert serializer.loads(serializer.dumps([Color.RED, Point(1, 2), OrderedDict(a=1)])) == [
        1, (1, 2), {"a": 1}]


@pytest.mark.parametrize("value", [object(), 2**64, decimal.Decimal(1), lambda: None], ids=repr)
def test_what_msgpack_cannot_carry_is_a_local_error(value):
    with pytest.raises(LocalProtocolError):
        MsgpackSerializer().dumps(value)
    with pytest.raises(LocalProtocolError):
        MsgpackSerializer().dump_view(value)


def test_dump_view_lends_one_buffer_until_the_next_call():
    serializer = MsgpackSerializer()
    first = serializer.dump_view([b"a" * 100_000])
    assert serializer.loads(first) == [b"a" * 100_000]
    second = serializer.dump_view({"b": 1})
    assert serializer.loads(second) == {"b": 1}
    with pytest.raises(ValueError):  # the first view was released, not left dangling
        len(first)
    with pytest.raises(LocalProtocolError):
        serializer.dump_view(object())
    assert serializer.loads(serializer.dump_view("after an error")) == "after an error"


def test_msgpack_refuses_non_string_keys_coming_in():
    import msgpack

    with pytest.raises(RemoteProtocolError):
        MsgpackSerializer().loads(msgpack.packb({1: "int key"}))
    serializer = MsgpackSerializer()
    with pytest.raises(RemoteProtocolError):
        serializer.loads(serializer.dumps({(1, 2): "tuple key"}))


class Boom:
    """Unpickling this runs ``os.system`` (the classic REDUCE payload)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_a_pickle_sent_to_msgpack_is_garbage_and_runs_nothing(tmp_path: Path):
    marker = tmp_path / "MARKER"
    payload = pickle.dumps(Boom(f"touch {marker}"))
    with pytest.raises(RemoteProtocolError):
        MsgpackSerializer().loads(payload)
    assert not marker.exists()


@pytest.mark.parametrize("payload_of", [
    lambda cmd: pickle.dumps(Boom(cmd)),
    lambda cmd: pickle.dumps(Boom(cmd), protocol=0),
    lambda cmd: b"cos\nsystem\n(V" + cmd.encode() + b"\ntR.",  # hand-made GLOBAL + REDUCE
    lambda cmd: b"cbuiltins\neval\n(V__import__('os').system('" + cmd.encode() + b"')\ntR.",
    lambda cmd: b"csubprocess\nPopen\n(V" + cmd.encode() + b"\ntR.",
])
def test_the_restricted_unpickler_resolves_no_dangerous_global(tmp_path: Path, payload_of):
    marker = tmp_path / "MARKER"
    with pytest.raises(RemoteProtocolError):
        PickleSerializer().loads(payload_of(f"touch {marker}"))
    assert not marker.exists()


ALLOWED_VALUES = [
    {"a": [1, 2.5, "x", b"y", None, True, (1, 2)]},
    dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), dt.date(2024, 1, 2),
    dt.time(1, 2), dt.timedelta(days=3), {1, 2}, frozenset({3}), 1 + 2j, bytearray(b"ab"),
    decimal.Decimal("1.10"), fractions.Fraction(1, 3), uuid.UUID(int=7), range(3),
    OrderedDict(a=1), deque([1, 2]),
]


@pytest.mark.parametrize("value", ALLOWED_VALUES, ids=[repr(v)[:30] for v in ALLOWED_VALUES])
def test_plain_data_unpickles(value):
    # 3 and up: what Python 3 (and multiprocessing's ForkingPickler) writes; protocol 2
    # spells bytes with _codecs.encode, which stays refused.
    for protocol in (3, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL):
        assert RestrictedUnpickler.loads(pickle.dumps(value, protocol)) == value


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

    def __hash__(self) -> int:
        return hash((self.x, self.y))


def test_a_class_is_loaded_only_once_allowed():
    data = pickle.dumps(Point(1, 2))
    with pytest.raises(RemoteProtocolError):
        PickleSerializer().loads(data)
    assert PickleSerializer(allow=[Point]).loads(data) == Point(1, 2)
    assert PickleSerializer(allow=[(Point.__module__, "Point")]).loads(data) == Point(1, 2)
    with pytest.raises(ConfigError):
        PickleSerializer(allow=["Point"])


@pytest.mark.parametrize("data", [b"", b"\x80\x05garbage", b"\x80\x04\x95\x10"])
def test_malformed_pickles_are_remote_errors(data):
    with pytest.raises(RemoteProtocolError):
        PickleSerializer().loads(data)


def test_unpicklable_objects_are_local_errors():
    with pytest.raises(LocalProtocolError):
        PickleSerializer().dumps(lambda: None)


def test_choosing_a_serializer():
    assert make_serializer("msgpack").name == "msgpack"
    assert make_serializer("pickle").name == "pickle"
    custom = MsgpackSerializer()
    assert make_serializer(custom) is custom
    for wrong in ("json", 42):
        with pytest.raises(ConfigError):
            make_serializer(wrong)  # type: ignore[arg-type]
