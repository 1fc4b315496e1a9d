"""The PROXY protocol, versions 1 and 2: the client's address, carried in front of a connection.

A TCP load balancer (HAProxy, nginx ``stream``, a cloud balancer) that relays a connection
hides the client: the server's ``getpeername()`` is the balancer's. With the PROXY protocol the
balancer prepends one header, before any byte of the relayed protocol, saying what the server
would have seen had the client connected directly: family, source and destination address and
port (HAProxy's ``proxy-protocol.txt``, §1-§2). Version 1 is one US-ASCII line (§2.1); version 2
is binary, adds UDP and Unix sockets, and extensions as type-length-value records (§2.2).

:class:`ProxyHeaderReader` is the receiving side, sans-IO: feed it the connection's first bytes,
take one :class:`ProxyHeader` out, then hand :meth:`~ProxyHeaderReader.rest` (the bytes that
arrived after the header, e.g. the start of an HTTP request) to the protocol behind it::

    reader = ProxyHeaderReader()
    while (header := reader.next_header()) is None:
        reader.receive_data(sock.recv(4096))      # b"" at EOF
    peer = None if header.local else header.source   # None: use getpeername()
    http.receive_data(reader.rest())

**Why it is opt-in, and only for the addresses you list.** Whoever sends the header chooses the
address the server will log, rate-limit and authorise by. A server that accepts the header from
anyone lets any client claim any address. So the spec (§2, §5) requires a listener to be
configured either to *require* the header or to never look for it, never to guess, and it
should accept it only from the proxies it trusts; a shell must check the peer's real address
against that list before using a reader at all. Everything here is strict: a byte that does not
fit the spec refuses the connection, as early as the bytes show it (§2.1: "abort the connection
as soon as possible so that the sender gets a chance to notice the anomaly").

Spec: HAProxy's ``doc/proxy-protocol.txt`` (revision 2020/03/05),
https://github.com/haproxy/haproxy/blob/master/doc/proxy-protocol.txt
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from wirekit.errors import ConfigError, LocalProtocolError, RemoteProtocolError
from wirekit.proto.buffer import ReceiveBuffer

__all__ = [
    "DEFAULT_MAX_SIZE",
    "V1_MAX_LINE",
    "V2_SIGNATURE",
    "Family",
    "ProxyHeader",
    "ProxyHeaderReader",
    "ProxyProtocolError",
    "ProxySSL",
    "build_v1",
    "build_v2",
]

Family: TypeAlias = Literal["tcp4", "tcp6", "udp4", "udp6", "unix", "unix_dgram", "unknown"]
Endpoint: TypeAlias = tuple[str, int] | str | None

#: §2.1: the longest line a receiver must accept, CRLF included ("PROXY UNKNOWN" + two IPv6
#: addresses and ports). A line not ended within it is invalid.
V1_MAX_LINE: Final = 107
#: §2.2: the 12-byte block every version 2 header starts with.
V2_SIGNATURE: Final = b"\r\n\r\n\x00\r\nQUIT\n"
#: The largest version 2 payload (the bytes after the 16-byte fixed part) a reader accepts by
#: default. §2 designs headers to fit one minimal TCP segment (536 bytes), and the largest
#: address block is 216 bytes (Unix); 4096 leaves room for every registered TLV (SSL details
#: with a long certificate CN, a 255-byte SNI authority, a 128-byte unique ID) while keeping what
#: an unauthenticated peer can make us buffer to one page. The format allows up to 65535.
DEFAULT_MAX_SIZE: Final = 4096

PP2_TYPE_ALPN: Final = 0x01
PP2_TYPE_AUTHORITY: Final = 0x02
PP2_TYPE_CRC32C: Final = 0x03
PP2_TYPE_NOOP: Final = 0x04
PP2_TYPE_UNIQUE_ID: Final = 0x05
PP2_TYPE_SSL: Final = 0x20
PP2_SUBTYPE_SSL_VERSION: Final = 0x21
PP2_SUBTYPE_SSL_CN: Final = 0x22
PP2_SUBTYPE_SSL_CIPHER: Final = 0x23
PP2_SUBTYPE_SSL_SIG_ALG: Final = 0x24
PP2_SUBTYPE_SSL_KEY_ALG: Final = 0x25

_V1_PREFIX: Final = b"PROXY "
_V1_FAMILIES: Final = (b"TCP4 ", b"TCP6 ", b"UNKNOWN ", b"UNKNOWN\r")
# What may follow "PROXY TCP4 " / "PROXY TCP6 " before the CR: checked on partial lines, so a
# line that cannot become valid is refused without waiting for the rest of it.
_V1_CHARSET: Final = {b"TCP4": re.compile(rb"[0-9. ]*\r?"),
                      b"TCP6": re.compile(rb"[0-9A-Fa-f: ]*\r?")}
_PORT: Final = re.compile(rb"0|[1-9][0-9]{0,4}")  # §2.1: decimal, no leading zeroes
_V2_FIXED: Final = 16
# §2.2, 14th byte: family (high nibble) and transport (low nibble) -> name, address block size.
_V2_FAMILIES: Final[dict[int, tuple[Family, int]]] = {
    0x11: ("tcp4", 12), 0x12: ("udp4", 12),
    0x21: ("tcp6", 36), 0x22: ("udp6", 36),
    0x31: ("unix", 216), 0x32: ("unix_dgram", 216),
}  # fmt: skip
_V2_CODES: Final = {name: code for code, (name, _) in _V2_FAMILIES.items()}
_UNIX_PATH: Final = 108  # §2.2: each AF_UNIX address is exactly 108 bytes


class ProxyProtocolError(RemoteProtocolError, ValueError):
    """The bytes in front of a connection are not a valid PROXY protocol header.

    The spec's answer is always to abort the connection (§2.1, §2.2): the relayed protocol has
    not started, so a shell closes without answering, and logs this message.
    """


@dataclass(frozen=True, slots=True)
class ProxySSL:
    """The ``PP2_TYPE_SSL`` record (§2.2.6): how the client reached the proxy over TLS."""

    client: int  # bit field: 0x01 TLS, 0x02 certificate on this connection, 0x04 in session
    verify: int  # 0 when the client presented a certificate and it verified
    tlvs: tuple[tuple[int, bytes], ...] = ()

    @property
    def tls(self) -> bool:
        return bool(self.client & 0x01)

    @property
    def verified(self) -> bool:
        """A client certificate was presented (on the connection or session) and verified."""
        return self.verify == 0 and bool(self.client & 0x06)

    def text(self, kind: int) -> str | None:
        """A string sub-TLV (``PP2_SUBTYPE_SSL_*``, 0x21-0x25), UTF-8 checked when parsed."""
        value = _first(self.tlvs, kind)
        return None if value is None else value.decode("utf-8")

    @property
    def version(self) -> str | None:
        return self.text(PP2_SUBTYPE_SSL_VERSION)  # "TLSv1.3"

    @property
    def common_name(self) -> str | None:
        return self.text(PP2_SUBTYPE_SSL_CN)  # of the client certificate's subject

    @property
    def cipher(self) -> str | None:
        return self.text(PP2_SUBTYPE_SSL_CIPHER)


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    """One PROXY protocol header, as the proxy announced it.

    ``local`` means the connection's own endpoints apply (``getpeername()``/``getsockname()``):
    a version 2 LOCAL command (a proxy's health check, §2.2), a version 1 ``UNKNOWN`` line
    (§2.1), or a version 2 PROXY command with an unspecified family (§2.2 lets the receiver
    accept it "and use the real endpoint addresses"). ``source`` and ``destination`` are then
    ``None`` and ``family`` is ``"unknown"``. Otherwise they are ``(ip, port)`` with the address
    normalised by :mod:`ipaddress`, or a Unix socket path (an abstract one starts with NUL).
    ``tlvs`` are version 2's extension records (type, value) in wire order, NOOPs included.
    """

    version: Literal[1, 2]
    local: bool
    family: Family
    source: Endpoint = None
    destination: Endpoint = None
    tlvs: tuple[tuple[int, bytes], ...] = ()

    def tlv(self, kind: int) -> bytes | None:
        """The value of the first TLV of type ``kind``, or None."""
        return _first(self.tlvs, kind)

    @property
    def alpn(self) -> bytes | None:
        """§2.2.1: the application protocol the client negotiated (e.g. ``b"h2"``)."""
        return self.tlv(PP2_TYPE_ALPN)

    @property
    def authority(self) -> str | None:
        """§2.2.2: the host name the client asked for (TLS SNI), UTF-8 checked when parsed."""
        value = self.tlv(PP2_TYPE_AUTHORITY)
        return None if value is None else value.decode("utf-8")

    @property
    def unique_id(self) -> bytes | None:
        """§2.2.5: the proxy's opaque identifier for this connection."""
        return self.tlv(PP2_TYPE_UNIQUE_ID)

    @property
    def ssl(self) -> ProxySSL | None:
        """§2.2.6: TLS details of the client's connection to the proxy, when it sent them."""
        value = self.tlv(PP2_TYPE_SSL)
        if value is None:
            return None
        return ProxySSL(value[0], int.from_bytes(value[1:5], "big"), _tlvs(value[5:]))


def _first(tlvs: tuple[tuple[int, bytes], ...], kind: int) -> bytes | None:
    return next((value for type_, value in tlvs if type_ == kind), None)


_LOCAL_V1: Final = ProxyHeader(1, True, "unknown")


class ProxyHeaderReader:
    """Reads the PROXY header at the start of one connection, incrementally.

    ``receive_data(data)`` buffers what arrived (``b""`` means EOF); ``next_header()`` returns
    the header once complete (and the same header on later calls), ``None`` while more bytes
    are needed, or raises :class:`ProxyProtocolError` as soon as the bytes cannot become a valid
    header: a first byte that starts neither signature, a v1 line without CRLF within 107 bytes,
    a v2 length above ``max_size``, or EOF before the end. Either version is accepted (§2.2
    recommends that v2 receivers also read v1).

    ``max_size`` bounds the v2 payload (the bytes after the 16-byte fixed part, 0-65535).
    """

    __slots__ = ("_buf", "_end", "_eof", "_error", "_header", "_max_size", "_received")

    def __init__(self, *, max_size: int = DEFAULT_MAX_SIZE) -> None:
        if type(max_size) is not int or not 0 <= max_size <= 0xFFFF:
            raise ConfigError(f"max_size must be an int in 0..65535, got {max_size!r}")
        self._max_size = max_size
        self._received = ReceiveBuffer()
        self._buf = self._received.data
        self._eof = False
        self._header: ProxyHeader | None = None
        self._end = 0
        self._error: ProxyProtocolError | None = None

    def receive_data(self, data: bytes) -> None:
        """Add bytes that arrived; ``b""`` reports the peer's EOF."""
        if self._eof and data:
            raise LocalProtocolError("receive_data() after EOF")
        if data:
            self._received.feed(data)
        else:
            self._eof = True

    def next_header(self) -> ProxyHeader | None:
        """The header, or None while it is incomplete; raises ProxyProtocolError if invalid."""
        if self._header is not None:
            return self._header
        if self._error is not None:
            raise self._error
        try:
            found = _parse(self._buf, self._max_size)
            if found is None and self._eof:
                raise ProxyProtocolError(
                    f"connection closed in the middle of the PROXY header "
                    f"({len(self._buf)} bytes arrived)")
        except ProxyProtocolError as exc:
            self._error = exc
            raise
        if found is None:
            return None
        self._header, self._end = found
        return self._header

    def rest(self) -> bytes:
        """Every byte received after the header: the start of the protocol behind it.

        Only defined once ``next_header()`` returned the header; bytes fed later are included.
        """
        if self._header is None:
            raise LocalProtocolError("rest() is only defined once next_header() returned one")
        return bytes(self._buf[self._end :])


def _parse(buf: bytearray, max_size: int) -> tuple[ProxyHeader, int] | None:
    """Dispatch on the first bytes (§2.2, "identifying the protocol version")."""
    if _V1_PREFIX.startswith(buf[:6]):
        return _parse_v1(buf) if len(buf) > len(_V1_PREFIX) else None
    if V2_SIGNATURE.startswith(buf[:12]):
        return _parse_v2(buf, max_size)
    raise ProxyProtocolError(f"not a PROXY protocol header: {_shown(buf)}")


def _shown(buf: bytes | bytearray) -> str:
    """The start of what the peer sent, for a message (never all of it)."""
    return repr(bytes(buf[:16])) + ("..." if len(buf) > 16 else "")


# -- version 1 (§2.1) -----------------------------------------------------------------------------


def _parse_v1(buf: bytearray) -> tuple[ProxyHeader, int] | None:
    end = buf.find(b"\r\n", 0, V1_MAX_LINE)
    if end < 0:
        _check_partial_v1(bytes(buf[:V1_MAX_LINE]), len(buf))
        return None
    line = bytes(buf[:end])
    if b"\r" in line or b"\n" in line:
        raise ProxyProtocolError(f"bare CR or LF in PROXY line {line!r}")
    return _v1_line(line), end + 2


def _check_partial_v1(partial: bytes, received: int) -> None:
    """Refuse an unfinished line that can no longer become valid."""
    family = partial[len(_V1_PREFIX) :]
    if not any(f.startswith(family[: len(f)]) for f in _V1_FAMILIES):
        raise ProxyProtocolError(f"unknown PROXY line family in {_shown(partial)}")
    cr = partial.find(b"\r")
    if b"\n" in partial or (0 <= cr < received - 1):
        raise ProxyProtocolError(f"bare CR or LF in PROXY line {_shown(partial)}")
    charset = _V1_CHARSET.get(family[:4])
    fields = family[5:]
    if charset is not None and (not charset.fullmatch(fields) or fields.startswith(b" ")
                                or b"  " in fields or b" \r" in fields
                                or fields.count(b" ") > 3):
        raise ProxyProtocolError(f"invalid PROXY {family[:4].decode()} line {_shown(partial)}")
    if received >= V1_MAX_LINE:
        raise ProxyProtocolError(f"PROXY line without CRLF in its first {V1_MAX_LINE} bytes")


def _v1_line(line: bytes) -> ProxyHeader:
    parts = line.split(b" ")
    if parts[1] == b"UNKNOWN":
        return _LOCAL_V1  # §2.1: "the receiver must ignore anything presented before the CRLF"
    if parts[1] not in (b"TCP4", b"TCP6") or len(parts) != 6:
        raise ProxyProtocolError(f"malformed PROXY line {line!r}")
    version = 4 if parts[1] == b"TCP4" else 6
    source = (_v1_ip(parts[2], version, line), _v1_port(parts[4], line))
    destination = (_v1_ip(parts[3], version, line), _v1_port(parts[5], line))
    return ProxyHeader(1, False, "tcp4" if version == 4 else "tcp6", source, destination)


def _v1_ip(text: bytes, version: int, line: bytes) -> str:
    # ipaddress refuses IPv4 octets with leading zeroes (since 3.9.5); IPv6 must be hex groups
    # only (§2.1), so no embedded dotted quad and no %scope.
    try:
        if version == 6 and (b"." in text or b"%" in text):
            raise ValueError
        parsed = ipaddress.ip_address(text.decode("ascii"))
    except ValueError:
        raise ProxyProtocolError(f"invalid IPv{version} address in PROXY line {line!r}") from None
    if parsed.version != version:
        raise ProxyProtocolError(f"address family mismatch in PROXY line {line!r}")
    return str(parsed)


def _v1_port(text: bytes, line: bytes) -> int:
    if not _PORT.fullmatch(text) or int(text) > 0xFFFF:
        raise ProxyProtocolError(f"invalid port in PROXY line {line!r} (0-65535, no leading 0)")
    return int(text)


# -- version 2 (§2.2) -----------------------------------------------------------------------------


def _parse_v2(buf: bytearray, max_size: int) -> tuple[ProxyHeader, int] | None:
    if len(buf) > 12 and buf[12] >> 4 != 2:
        raise ProxyProtocolError(f"PROXY v2 header with version {buf[12] >> 4} (only 2 exists)")
    if len(buf) > 12 and buf[12] & 0x0F > 1:
        raise ProxyProtocolError(f"PROXY v2 header with unassigned command {buf[12] & 0x0F}")
    if len(buf) > 13 and (buf[13] >> 4 > 3 or buf[13] & 0x0F > 2):
        raise ProxyProtocolError(f"PROXY v2 header with invalid family byte {buf[13]:#04x}")
    if len(buf) < _V2_FIXED:
        return None
    length = int.from_bytes(buf[14:16], "big")
    if length > max_size:
        raise ProxyProtocolError(
            f"PROXY v2 header of {length} bytes exceeds max_size ({max_size})")
    end = _V2_FIXED + length
    if len(buf) < end:
        return None
    header = bytes(buf[:end])
    return _v2_header(header[12], header[13], header), end


def _v2_header(ver_cmd: int, fam: int, header: bytes) -> ProxyHeader:
    known = _V2_FAMILIES.get(fam)
    if known is None:
        # An unspecified family or transport: the address block cannot be read, and §2.2 says
        # to ignore it. Senders put no addresses in 0x00 (LOCAL), so TLVs may follow directly;
        # anything else there is ignored address information.
        records = _records(header, _V2_FIXED) if fam == 0x00 else None
        return ProxyHeader(2, True, "unknown", tlvs=_checked(records or [], header))
    family, size = known
    if len(header) < _V2_FIXED + size:
        raise ProxyProtocolError(
            f"PROXY v2 {family} address block of {len(header) - _V2_FIXED} bytes "
            f"(needs {size})")
    records = _records(header, _V2_FIXED + size)
    if records is None:
        raise ProxyProtocolError(f"truncated TLV in PROXY v2 header: {_shown(header)}")
    tlvs = _checked(records, header)
    if ver_cmd & 0x0F == 0:  # LOCAL: "discard the protocol block including the family"
        return ProxyHeader(2, True, "unknown", tlvs=tlvs)
    source, destination = _v2_addresses(family, header[_V2_FIXED : _V2_FIXED + size])
    return ProxyHeader(2, False, family, source, destination, tlvs)


def _v2_addresses(family: Family, block: bytes) -> tuple[Endpoint, Endpoint]:
    if family in ("unix", "unix_dgram"):
        return _unix_path(block[:_UNIX_PATH]), _unix_path(block[_UNIX_PATH:])
    width = 4 if family in ("tcp4", "udp4") else 16
    ports = block[2 * width :]
    source = (str(ipaddress.ip_address(block[:width])), int.from_bytes(ports[:2], "big"))
    destination = (str(ipaddress.ip_address(block[width : 2 * width])),
                   int.from_bytes(ports[2:4], "big"))
    return source, destination


def _unix_path(raw: bytes) -> str:
    # A path ends at its first NUL; a Linux abstract name starts with NUL (all NULs: unnamed).
    if raw[:1] == b"\0":
        name = raw[1:].rstrip(b"\0")
        raw = b"\0" + name if name else b""
    else:
        raw = raw.split(b"\0", 1)[0]
    return raw.decode("utf-8", "surrogateescape")  # how os.fsdecode reads a path on POSIX


_Record: TypeAlias = tuple[int, int, int]  # type, offset of the value, offset after it


def _records(data: bytes, at: int) -> list[_Record] | None:
    """Split type-length-value records (§2.2) from ``at`` to the end; None if one is cut."""
    records = []
    while at < len(data):
        if at + 3 > len(data):
            return None
        end = at + 3 + int.from_bytes(data[at + 1 : at + 3], "big")
        if end > len(data):
            return None
        records.append((data[at], at + 3, end))
        at = end
    return records


def _tlvs(data: bytes) -> tuple[tuple[int, bytes], ...]:
    """The records of a TLV block already checked by :func:`_records`."""
    return tuple((kind, data[start:end]) for kind, start, end in _records(data, 0) or ())


def _checked(records: list[_Record], header: bytes) -> tuple[tuple[int, bytes], ...]:
    """Validate the TLVs whose content the spec defines, so the accessors never fail."""
    if sum(kind == PP2_TYPE_CRC32C for kind, _, _ in records) > 1:
        raise ProxyProtocolError("PROXY v2 header with more than one CRC32C TLV")
    for kind, start, end in records:
        value = header[start:end]
        if kind == PP2_TYPE_CRC32C:
            _check_crc(header, start, end)
        elif kind == PP2_TYPE_AUTHORITY:
            _utf8(value, "authority")
        elif kind == PP2_TYPE_SSL:
            _check_ssl(value)
    return tuple((kind, header[start:end]) for kind, start, end in records)


def _utf8(value: bytes, what: str) -> None:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        raise ProxyProtocolError(f"PROXY v2 {what} TLV is not UTF-8: {value[:32]!r}") from None


def _check_ssl(value: bytes) -> None:
    if len(value) < 5:
        raise ProxyProtocolError(f"PROXY v2 SSL TLV of {len(value)} bytes (needs 5 or more)")
    records = _records(value, 5)
    if records is None:
        raise ProxyProtocolError(f"truncated sub-TLV in PROXY v2 SSL TLV: {_shown(value)}")
    for kind, start, end in records:
        if PP2_SUBTYPE_SSL_VERSION <= kind <= PP2_SUBTYPE_SSL_KEY_ALG:
            _utf8(value[start:end], f"SSL sub-TLV {kind:#04x}")


def _check_crc(header: bytes, start: int, end: int) -> None:
    """§2.2.3: the CRC32c of the whole header with the checksum's own bytes zeroed."""
    if end - start != 4:
        raise ProxyProtocolError(f"PROXY v2 CRC32C TLV of {end - start} bytes (needs 4)")
    zeroed = header[:start] + b"\0\0\0\0" + header[end:]
    if crc32c(zeroed) != int.from_bytes(header[start:end], "big"):
        raise ProxyProtocolError("PROXY v2 header fails its CRC32C checksum")


def _crc_table() -> tuple[int, ...]:
    def entry(crc: int) -> int:
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1  # Castagnoli, reflected
        return crc

    return tuple(entry(byte) for byte in range(256))


_CRC_TABLE: Final = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli, RFC 4960 appendix B), as PP2_TYPE_CRC32C uses it."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# -- encoders --------------------------------------------------------------------------------------


def build_v1(source: tuple[str, int] | None = None,
             destination: tuple[str, int] | None = None) -> bytes:
    """A version 1 line (§2.1): TCP4 or TCP6 from the addresses, ``UNKNOWN`` without them."""
    if source is None and destination is None:
        return b"PROXY UNKNOWN\r\n"
    if source is None or destination is None:
        raise LocalProtocolError("build_v1 needs both addresses, or neither for UNKNOWN")
    src, dst = _ip(source[0]), _ip(destination[0])
    if src.version != dst.version:
        raise LocalProtocolError(f"mixed address families: {source!r}, {destination!r}")
    ports = _port(source[1]), _port(destination[1])
    return f"PROXY TCP{src.version} {src} {dst} {ports[0]} {ports[1]}\r\n".encode("ascii")


def build_v2(source: Endpoint = None, destination: Endpoint = None, *, local: bool = False,
             family: Family | None = None, tlvs: Iterable[tuple[int, bytes]] = (),
             checksum: bool = False) -> bytes:
    """A version 2 header (§2.2).

    ``local`` sends the LOCAL command with an unspecified family and no addresses (§2.2: "it
    should not present any address"). Otherwise ``family`` defaults to the stream family of the
    addresses (``"tcp4"``, ``"tcp6"``, or ``"unix"`` for paths); pass ``"udp4"`` and the like for
    datagrams, or ``"unknown"`` for the PROXY command without addresses. ``tlvs`` are appended
    in order; ``checksum`` adds a PP2_TYPE_CRC32C record last (§2.2.3).
    """
    records = [(_byte(kind), bytes(value)) for kind, value in tlvs]
    if local or family == "unknown":
        if source is not None or destination is not None:
            raise LocalProtocolError("a LOCAL or unknown-family header carries no addresses")
        fam, block = 0x00, b""
    else:
        if family is None:
            family = _stream_family(source)
        fam, block = _V2_CODES.get(family, -1), _v2_block(family, source, destination)
    body = block + b"".join(_tlv(kind, value) for kind, value in records)
    if checksum:
        body += _tlv(PP2_TYPE_CRC32C, b"\0\0\0\0")
    if len(body) > 0xFFFF:
        raise LocalProtocolError(f"PROXY v2 payload of {len(body)} bytes (at most 65535)")
    header = V2_SIGNATURE + bytes((0x20 | (0 if local else 1), fam)) + len(body).to_bytes(2, "big")
    header += body
    if checksum:
        header = header[:-4] + crc32c(header).to_bytes(4, "big")
    return header


def _stream_family(source: Endpoint) -> Family:
    if isinstance(source, str):
        return "unix"
    if source is None:
        raise LocalProtocolError("build_v2 needs addresses, local=True, or family='unknown'")
    return "tcp4" if _ip(source[0]).version == 4 else "tcp6"


def _v2_block(family: Family, source: Endpoint, destination: Endpoint) -> bytes:
    if family in ("unix", "unix_dgram"):
        if not isinstance(source, str) or not isinstance(destination, str):
            raise LocalProtocolError(f"a {family} header needs two paths")
        return _unix_bytes(source) + _unix_bytes(destination)
    if family not in _V2_CODES or not isinstance(source, tuple) \
            or not isinstance(destination, tuple):
        raise LocalProtocolError(f"a {family} header needs two (ip, port) addresses")
    version = 4 if family.endswith("4") else 6
    src, dst = _ip(source[0]), _ip(destination[0])
    if src.version != version or dst.version != version:
        raise LocalProtocolError(f"{family} needs IPv{version} addresses: {source}, {destination}")
    ports = _port(source[1]).to_bytes(2, "big") + _port(destination[1]).to_bytes(2, "big")
    return src.packed + dst.packed + ports


def _unix_bytes(path: str) -> bytes:
    try:
        raw = path.encode("utf-8", "surrogateescape")  # the inverse of _unix_path
    except UnicodeEncodeError:  # a lone surrogate that no byte string decodes to
        raise LocalProtocolError(f"not a path a socket can have: {path!r}") from None
    if len(raw) > _UNIX_PATH:
        raise LocalProtocolError(f"Unix path longer than {_UNIX_PATH} bytes: {path!r}")
    return raw.ljust(_UNIX_PATH, b"\0")


def _tlv(kind: int, value: bytes) -> bytes:
    if len(value) > 0xFFFF:
        raise LocalProtocolError(f"TLV {kind:#04x} value of {len(value)} bytes (at most 65535)")
    return bytes((kind,)) + len(value).to_bytes(2, "big") + value


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise LocalProtocolError(f"not an IP address: {text!r}") from None


def _port(port: int) -> int:
    if type(port) is not int or not 0 <= port <= 0xFFFF:
        raise LocalProtocolError(f"port must be an int in 0..65535, got {port!r}")
    return port


def _byte(kind: int) -> int:
    if type(kind) is not int or not 0 <= kind <= 0xFF:
        raise LocalProtocolError(f"TLV type must be an int in 0..255, got {kind!r}")
    return kind
