"""pcapng files, read (draft-ietf-opsawg-pcapng): what tshark and Wireshark write by default.

A pcapng file is a sequence of blocks, each framed by its type and its total length (repeated
at the end). The Section Header Block gives the byte order; each Interface Description Block
gives an interface's link type and timestamp resolution (option ``if_tsresol``, default
microseconds); packets come in Enhanced Packet Blocks (with the interface index), Simple
Packet Blocks (interface 0, no timestamp) or the obsolete Packet Block. Every other block
(name resolution, statistics, custom) is skipped by its length, as the format intends.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from wirekit.net.capture.errors import CaptureFileError
from wirekit.net.capture.frozen import builder
from wirekit.net.capture.packet import Packet

__all__ = ["PCAPNG_MAGIC", "PcapngReader"]

PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_IDB, _PB, _SPB, _EPB = 1, 2, 3, 6
_MAX_BLOCK = 1 << 28
_new_packet = builder(Packet)


class _Interface:
    __slots__ = ("linktype", "snaplen", "to_ns")

    def __init__(self, linktype: int, snaplen: int, resolution: int) -> None:
        self.linktype, self.snaplen = linktype, snaplen
        if resolution & 0x80:  # a power of two (the option's high bit)
            shift = resolution & 0x7F
            self.to_ns = lambda ts: (ts * 1_000_000_000) >> shift
        elif resolution <= 9:
            factor = 10 ** (9 - resolution)
            self.to_ns = lambda ts: ts * factor
        else:
            divisor = 10 ** (resolution - 9)
            self.to_ns = lambda ts: ts // divisor


def _options(body: bytes, order: str) -> Iterator[tuple[int, bytes]]:
    """Option code and value pairs, each padded to 32 bits, until opt_endofopt."""
    at = 0
    while at + 4 <= len(body):
        code, length = struct.unpack_from(order + "HH", body, at)
        if code == 0:
            return
        yield code, body[at + 4:at + 4 + length]
        at += 4 + (length + 3) // 4 * 4


class PcapngReader:
    """Packets from a pcapng file, in order. ``linktype`` and ``snaplen`` are the first
    interface's (each packet carries its own interface's link type)."""

    def __init__(self, file: BinaryIO, header: bytes, *, close: bool = False) -> None:
        self._file, self._close = file, close
        self._order = "<"
        self._interfaces: list[_Interface] = []
        self._pending = header  # bytes read ahead by open_capture
        self.nanoseconds = True
        self.version: tuple[int, int] = (1, 0)
        first = self._block()
        if first is None or first[0] != int.from_bytes(PCAPNG_MAGIC, "big"):
            raise CaptureFileError("a pcapng file must start with a section header block")
        self._section(first[1])
        self._first_packet = self._until_interface()

    @property
    def linktype(self) -> int:
        return self._interfaces[0].linktype if self._interfaces else 1

    @property
    def snaplen(self) -> int:
        return self._interfaces[0].snaplen if self._interfaces else 0

    def _read(self, size: int) -> bytes:
        data, self._pending = self._pending[:size], self._pending[size:]
        if len(data) < size:
            data += self._file.read(size - len(data))
        return data

    def _block(self) -> tuple[int, bytes] | None:
        head = self._read(8)
        if not head:
            return None
        if len(head) < 8:
            raise CaptureFileError("the file ends inside a block header")
        if head[:4] == PCAPNG_MAGIC:  # a section header: its byte order is in its body
            magic = self._read(4)
            self._order = "<" if int.from_bytes(magic, "little") == _BYTE_ORDER_MAGIC else ">"
            length = struct.unpack(self._order + "I", head[4:8])[0]
            rest = self._read(length - 12) if 12 <= length <= _MAX_BLOCK else b""
            return int.from_bytes(PCAPNG_MAGIC, "big"), magic + rest[:-4]
        kind, length = struct.unpack(self._order + "II", head)
        if length < 12 or length > _MAX_BLOCK or length % 4:
            raise CaptureFileError(f"a pcapng block claims {length} bytes")
        body = self._read(length - 8)
        if len(body) < length - 8:
            raise CaptureFileError("the file ends inside a block")
        return kind, body[:-4]

    def _section(self, body: bytes) -> None:
        if len(body) < 16:
            raise CaptureFileError("the section header block is cut short")
        major, minor = struct.unpack_from(self._order + "HH", body, 4)
        self.version = (major, minor)
        self._interfaces = []  # interface numbering restarts in each section

    def _interface(self, body: bytes) -> None:
        if len(body) < 8:
            raise CaptureFileError("an interface description block is cut short")
        linktype, _, snaplen = struct.unpack_from(self._order + "HHI", body)
        resolution = 6
        for code, value in _options(body[8:], self._order):
            if code == 9 and value:  # if_tsresol
                resolution = value[0]
        self._interfaces.append(_Interface(linktype, snaplen, resolution))

    def _until_interface(self) -> tuple[int, bytes] | None:
        """Read the blocks before the first packet, so ``linktype`` is known up front."""
        while (block := self._block()) is not None:
            kind, body = block
            if kind == _IDB:
                self._interface(body)
            elif kind in (_PB, _SPB, _EPB):
                return block
        return None

    def _packet(self, kind: int, body: bytes) -> Packet | None:
        order = self._order
        if kind == _EPB and len(body) >= 20:
            iface, high, low, caplen, wirelen = struct.unpack_from(order + "IIIII", body)
            data = body[20:20 + caplen]
        elif kind == _PB and len(body) >= 20:
            iface, _, high, low, caplen, wirelen = struct.unpack_from(order + "HHIIII", body)
            data = body[20:20 + caplen]
        elif kind == _SPB and len(body) >= 4:
            iface, high, low = 0, 0, 0
            wirelen = struct.unpack_from(order + "I", body)[0]
            snap = self._interfaces[0].snaplen if self._interfaces else 0
            data = body[4:4 + min(wirelen, snap or wirelen)]
        else:
            return None
        if iface >= len(self._interfaces):
            raise CaptureFileError(f"a packet names interface {iface}, which is not described")
        interface = self._interfaces[iface]
        stamp = interface.to_ns((high << 32) | low)
        return _new_packet(data, stamp, wirelen, interface.linktype, None)

    def __iter__(self) -> Iterator[Packet]:
        block = self._first_packet
        self._first_packet = None
        while block is not None:
            kind, body = block
            if kind == int.from_bytes(PCAPNG_MAGIC, "big"):
                self._section(body)
            elif kind == _IDB:
                self._interface(body)
            elif kind in (_PB, _SPB, _EPB):
                packet = self._packet(kind, body)
                if packet is not None:
                    yield packet
            block = self._block()

    def close(self) -> None:
        if self._close:
            self._file.close()

    def __enter__(self) -> PcapngReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
