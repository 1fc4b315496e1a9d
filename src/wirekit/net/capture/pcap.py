"""pcap files: the format tcpdump, tshark and every capture tool read and write.

The format is a 24-byte file header (a magic number that also gives the byte order and the
timestamp unit, the snap length, the link type) and then records of a 16-byte header and the
captured bytes (draft-ietf-opsawg-pcap). Magic ``a1b2c3d4`` means microsecond timestamps,
``a1b23c4d`` nanoseconds. :func:`open_capture` also recognises pcapng (the format tshark
writes by default) and hands it to :mod:`wirekit.net.capture.pcapng`.

Reading is chunked and builds no object but the :class:`Packet` per record, so a file of a
million packets is read at the speed of ``struct.unpack_from``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from types import TracebackType
from typing import BinaryIO, cast

from wirekit.net.capture.errors import CaptureFileError
from wirekit.net.capture.frozen import builder
from wirekit.net.capture.link import LinkType
from wirekit.net.capture.packet import Packet
from wirekit.net.capture.pcapng import PCAPNG_MAGIC, PcapngReader

__all__ = ["DEFAULT_SNAPLEN", "PcapReader", "PcapWriter", "open_capture"]

#: tcpdump's default snap length since 4.99 (MAXIMUM_SNAPLEN in libpcap): whole packets.
DEFAULT_SNAPLEN = 262144
MAGIC_MICRO = 0xA1B2C3D4
MAGIC_NANO = 0xA1B23C4D
_CHUNK = 1 << 20
_MAX_RECORD = 1 << 28  # a record above 256 MiB is a corrupt length, not a packet
_new_packet = builder(Packet)


class PcapReader:
    """Packets from a pcap file, in order; iterate it. ``linktype``, ``snaplen`` and
    ``nanoseconds`` come from the file header."""

    def __init__(self, file: BinaryIO, header: bytes, *, close: bool = False) -> None:
        magic = int.from_bytes(header[:4], "little")
        order = "<" if magic in (MAGIC_MICRO, MAGIC_NANO) else ">"
        magic = int.from_bytes(header[:4], "little" if order == "<" else "big")
        if len(header) < 4 or magic not in (MAGIC_MICRO, MAGIC_NANO):
            raise CaptureFileError(f"not a pcap or pcapng file (magic 0x{header[:4].hex()})")
        if len(header) < 24:
            raise CaptureFileError("the pcap file header is cut short")
        self.nanoseconds = magic == MAGIC_NANO
        major, minor, _, _, snaplen, linktype = struct.unpack(order + "HHiIII", header[4:24])
        self.version = (major, minor)
        self.snaplen = snaplen
        self.linktype = linktype & 0x0FFFFFFF  # the top bits carry FCS information
        self._record = struct.Struct(order + "IIII")
        self._file = file
        self._close = close

    def __iter__(self) -> Iterator[Packet]:
        read, unpack = self._file.read, self._record.unpack_from
        scale = 1 if self.nanoseconds else 1000
        linktype, new = self.linktype, _new_packet
        buf, pos, index = b"", 0, 0
        while True:
            if len(buf) - pos < 16:
                buf, pos = buf[pos:] + read(_CHUNK), 0
                if len(buf) < 16:
                    if buf:
                        raise CaptureFileError(f"the file ends inside record {index + 1}")
                    return
            seconds, fraction, caplen, wirelen = unpack(buf, pos)
            end = pos + 16 + caplen
            if end > len(buf):
                if caplen > _MAX_RECORD:
                    raise CaptureFileError(f"record {index + 1} claims {caplen} bytes")
                buf, pos = buf[pos:] + read(max(_CHUNK, caplen + 16)), 0
                end = 16 + caplen
                if end > len(buf):
                    raise CaptureFileError(f"the file ends inside record {index + 1}")
            yield new(buf[pos + 16:end], seconds * 1_000_000_000 + fraction * scale, wirelen,
                      linktype, None)
            pos, index = end, index + 1

    def close(self) -> None:
        if self._close:
            self._file.close()

    def __enter__(self) -> PcapReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open(path: str | os.PathLike[str], mode: str) -> BinaryIO:
    try:
        return cast(BinaryIO, open(path, mode))  # the reader owns and closes it
    except OSError as exc:
        verb = "read" if "r" in mode else "write"
        raise CaptureFileError(f"cannot {verb} {os.fspath(path)}: {exc.strerror}") from exc


def open_capture(source: str | os.PathLike[str] | BinaryIO) -> PcapReader | PcapngReader:
    """Open a pcap or pcapng file (a path, or a binary file object such as stdin) for
    reading; the format is told by the magic number, as tcpdump does."""
    owned = isinstance(source, str | os.PathLike)
    file = _open(source, "rb") if isinstance(source, str | os.PathLike) else source
    header = file.read(24)
    try:
        if header[:4] == PCAPNG_MAGIC:
            return PcapngReader(file, header, close=owned)
        if not header:
            raise CaptureFileError("an empty capture file")
        return PcapReader(file, header, close=owned)
    except CaptureFileError:
        if owned:
            file.close()
        raise


class PcapWriter:
    """Write packets to a pcap file tcpdump and tshark read; ``nanoseconds=True`` keeps the
    full precision of a live capture (magic ``a1b23c4d``)."""

    def __init__(self, target: str | os.PathLike[str] | BinaryIO, *,
                 linktype: int = LinkType.ETHERNET, snaplen: int = DEFAULT_SNAPLEN,
                 nanoseconds: bool = False) -> None:
        self._owned = isinstance(target, str | os.PathLike)
        self._file = _open(target, "wb") if isinstance(target, str | os.PathLike) else target
        self.linktype, self.snaplen, self.nanoseconds = linktype, snaplen, nanoseconds
        self._divisor = 1 if nanoseconds else 1000
        self._units = 1_000_000_000 // self._divisor
        self._record = struct.Struct("<IIII")
        magic = MAGIC_NANO if nanoseconds else MAGIC_MICRO
        self._file.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        self.count = 0

    def write(self, packet: Packet) -> None:
        """Append ``packet`` (its bytes cut to the snap length, its wire length kept)."""
        self.write_bytes(packet.data, packet.timestamp_ns, packet.length)

    def write_bytes(self, data: bytes, timestamp_ns: int, wire_length: int | None = None) -> None:
        data = data[:self.snaplen]
        seconds, fraction = divmod(timestamp_ns // self._divisor, self._units)
        wire = len(data) if wire_length is None else max(wire_length, len(data))
        self._file.write(self._record.pack(seconds, fraction, len(data), wire))
        self._file.write(data)
        self.count += 1

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._owned:
            self._file.close()
        else:
            self._file.flush()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
