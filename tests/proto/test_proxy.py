"""The PROXY protocol core (``wirekit.proto.proxy``), pure tier: bytes in, one header out.

Every vector is fed four ways (whole, byte by byte, at seeded random splits, and followed by
application bytes that must come out of ``rest()`` unchanged). Refusals also say *when* they
happen: fed byte by byte, a header that cannot become valid is refused at the first byte that
shows it (HAProxy proxy-protocol.txt §2.1: "abort the connection as soon as possible").
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wirekit.errors import (
    ConfigError,
    LocalProtocolError,
    RemoteProtocolError,
    WirekitError,
)
from wirekit.proto.http import Connection, Request, Role
from wirekit.proto.proxy import (
    DEFAULT_MAX_SIZE,
    V1_MAX_LINE,
    V2_SIGNATURE,
    ProxyHeader,
    ProxyHeaderReader,
    ProxyProtocolError,
    build_v1,
    build_v2,
    crc32c,
)

SIG = V2_SIGNATURE
# Application bytes after the header: they look like more headers and CRLFs on purpose, to
# show the reader never parses past its own header.
APP = b"PROXY TCP4 6.6.6.6 6.6.6.6 1 1\r\n" + SIG + b"\x21\x11\x00\x00GET / HTTP/1.1\r\n\r\n"


# -- the four feeding strategies --------------------------------------------------------------


def _random_split(data: bytes, seed: int) -> list[bytes]:
    if len(data) < 2:
        return [data] if data else []
    rng = random.Random(seed ^ len(data))  # seeded: a failure reproduces exactly
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, 1 + len(data) // 5)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


FEEDS: dict[str, Callable[[bytes], tuple[list[bytes], bytes]]] = {
    "whole": lambda data: ([data], b""),
    "bytewise": lambda data: ([data[i : i + 1] for i in range(len(data))], b""),
    "random": lambda data: (_random_split(data, 0x5EED), b""),
    "trailing": lambda data: (_random_split(data + APP, 0xA99), APP),
}


@pytest.fixture(params=list(FEEDS))
def feed(request: pytest.FixtureRequest) -> Callable[[bytes], tuple[list[bytes], bytes]]:
    return FEEDS[request.param]


def read(chunks: list[bytes], *, eof: bool = False, **options: int) -> tuple[ProxyHeader, bytes]:
    """Feed ``chunks``, asking for the header after each; return it and ``rest()``."""
    reader = ProxyHeaderReader(**options)
    header = None
    for chunk in [*chunks, *([b""] if eof else [])]:
        reader.receive_data(chunk)
        found = reader.next_header()
        assert header is None or found is header, "a header, once read, does not change"
        header = found
    assert header is not None, "the whole header arrived but the reader still waits"
    return header, reader.rest()


def refused_at(data: bytes, **options: int) -> int:
    """Feed ``data`` byte by byte: how many bytes had arrived when the reader refused it."""
    reader = ProxyHeaderReader(**options)
    for count in range(1, len(data) + 1):
        reader.receive_data(data[count - 1 : count])
        try:
            assert reader.next_header() is None, f"{data!r} was accepted"
        except ProxyProtocolError:
            return count
    reader.receive_data(b"")
    with pytest.raises(ProxyProtocolError):
        reader.next_header()
    return len(data) + 1  # refused only at EOF


# -- valid vectors ------------------------------------------------------------------------------

FF6 = ":".join(["ffff"] * 8)
IPV4_BLOCK = bytes([192, 168, 0, 1, 192, 168, 0, 11]) + (56324).to_bytes(2, "big") + b"\x01\xbb"


def v2(ver_cmd: int, fam: int, payload: bytes) -> bytes:
    return SIG + bytes((ver_cmd, fam)) + len(payload).to_bytes(2, "big") + payload


def tlv(kind: int, value: bytes) -> bytes:
    return bytes((kind,)) + len(value).to_bytes(2, "big") + value


def unix(path: bytes) -> bytes:
    return path.ljust(108, b"\0")


TCP4 = ("tcp4", ("192.168.0.1", 56324), ("192.168.0.11", 443))
SSL_TLV = (b"\x05" + b"\0\0\0\0" + tlv(0x21, b"TLSv1.3") + tlv(0x22, b"client.example")
           + tlv(0x23, b"TLS_AES_128_GCM_SHA256"))

VALID: dict[str, tuple[bytes, ProxyHeader]] = {
    # §2.1's example line, then the longest lines the receiver must support.
    "v1-spec-example": (b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
                        ProxyHeader(1, False, *TCP4)),
    "v1-tcp4-longest": (b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
                        ProxyHeader(1, False, "tcp4", ("255.255.255.255", 65535),
                                    ("255.255.255.255", 65535))),
    "v1-tcp6-longest": (f"PROXY TCP6 {FF6} {FF6} 65535 65535\r\n".encode(),
                        ProxyHeader(1, False, "tcp6", (FF6, 65535), (FF6, 65535))),
    "v1-tcp6-compressed-upper-case": (
        b"PROXY TCP6 2001:DB8::1 ::1 0 80\r\n",
        ProxyHeader(1, False, "tcp6", ("2001:db8::1", 0), ("::1", 80))),
    "v1-tcp4-zero-ports": (b"PROXY TCP4 0.0.0.0 10.0.0.1 0 0\r\n",
                           ProxyHeader(1, False, "tcp4", ("0.0.0.0", 0), ("10.0.0.1", 0))),
    "v1-unknown-short": (b"PROXY UNKNOWN\r\n", ProxyHeader(1, True, "unknown")),
    "v1-unknown-worst-case": (f"PROXY UNKNOWN {FF6} {FF6} 65535 65535\r\n".encode(),
                              ProxyHeader(1, True, "unknown")),
    "v1-unknown-anything-ignored": (b"PROXY UNKNOWN what ever  \x01\xff\r\n",
                                    ProxyHeader(1, True, "unknown")),
    # §2.2 layouts.
    "v2-tcp4": (v2(0x21, 0x11, IPV4_BLOCK), ProxyHeader(2, False, *TCP4)),
    "v2-udp4": (v2(0x21, 0x12, IPV4_BLOCK),
                ProxyHeader(2, False, "udp4", ("192.168.0.1", 56324), ("192.168.0.11", 443))),
    "v2-tcp6": (v2(0x21, 0x21, bytes(15) + b"\x01" + b"\x20\x01\x0d\xb8" + bytes(11) + b"\x02"
                   + b"\xd4\x31\x00\x50"),
                ProxyHeader(2, False, "tcp6", ("::1", 54321), ("2001:db8::2", 80))),
    "v2-udp6": (v2(0x21, 0x22, b"\xff" * 32 + b"\x00\x35\x00\x35"),
                ProxyHeader(2, False, "udp6", (FF6, 53), (FF6, 53))),
    "v2-unix-stream": (v2(0x21, 0x31, unix(b"/run/client.sock") + unix(b"/run/server.sock")),
                       ProxyHeader(2, False, "unix", "/run/client.sock", "/run/server.sock")),
    "v2-unix-dgram-full-108-byte-path": (
        v2(0x21, 0x32, b"a" * 108 + unix(b"/dev/log")),
        ProxyHeader(2, False, "unix_dgram", "a" * 108, "/dev/log")),
    "v2-unix-abstract": (v2(0x21, 0x31, unix(b"\0abstract") + unix(b"")),
                         ProxyHeader(2, False, "unix", "\0abstract", "")),
    # LOCAL (health checks): the real endpoints apply, whatever the block says (§2.2).
    "v2-local-empty": (v2(0x20, 0x00, b""), ProxyHeader(2, True, "unknown")),
    "v2-local-with-addresses": (v2(0x20, 0x11, IPV4_BLOCK), ProxyHeader(2, True, "unknown")),
    "v2-local-with-tlv": (v2(0x20, 0x00, tlv(0x05, b"id-1")),
                          ProxyHeader(2, True, "unknown", tlvs=((0x05, b"id-1"),))),
    # PROXY with an unspecified family or transport: accepted, addresses ignored (§2.2).
    "v2-proxy-unspec": (v2(0x21, 0x00, b""), ProxyHeader(2, True, "unknown")),
    "v2-proxy-unspec-opaque-payload": (v2(0x21, 0x00, b"\x01\x00\x09ab"),
                                       ProxyHeader(2, True, "unknown")),
    "v2-inet-unspec-transport": (v2(0x21, 0x10, IPV4_BLOCK), ProxyHeader(2, True, "unknown")),
    # TLVs (§2.2.1-§2.2.8), in wire order, NOOP and custom types kept.
    "v2-tlvs": (v2(0x21, 0x11, IPV4_BLOCK + tlv(0x01, b"h2") + tlv(0x02, b"example.org")
                   + tlv(0x04, b"") + tlv(0x05, b"\x00" * 128) + tlv(0xE0, b"custom")
                   + tlv(0x20, SSL_TLV)),
                ProxyHeader(2, False, *TCP4, tlvs=(
                    (0x01, b"h2"), (0x02, b"example.org"), (0x04, b""), (0x05, b"\x00" * 128),
                    (0xE0, b"custom"), (0x20, SSL_TLV)))),
    # A version 2 header as HAProxy sent it (seriousben/experiment-proxy-protocol README).
    "v2-haproxy-capture": (
        bytes.fromhex("0d0a0d0a000d0a515549540a2111000cac130001ac130003a6520050"),
        ProxyHeader(2, False, "tcp4", ("172.19.0.1", 42578), ("172.19.0.3", 80))),
}


@pytest.mark.parametrize("name", list(VALID))
def test_valid_headers_parse_the_same_however_they_arrive(name, feed):
    data, expected = VALID[name]
    chunks, trailing = feed(data)
    header, rest = read(chunks)
    assert header == expected
    assert rest == trailing


@pytest.mark.parametrize("name", list(VALID))
def test_the_header_is_returned_as_soon_as_its_last_byte_arrives(name):
    data, expected = VALID[name]
    reader = ProxyHeaderReader()
    reader.receive_data(data[:-1])
    assert reader.next_header() is None
    reader.receive_data(data[-1:])
    assert reader.next_header() == expected
    assert reader.rest() == b""


def test_bytes_fed_after_the_header_are_kept_for_the_next_protocol():
    reader = ProxyHeaderReader()
    reader.receive_data(b"PROXY UNKNOWN\r\nGET ")
    assert reader.next_header() == ProxyHeader(1, True, "unknown")
    reader.receive_data(b"/ HTTP/1.1\r\n")
    assert reader.next_header() == ProxyHeader(1, True, "unknown")
    assert reader.rest() == b"GET / HTTP/1.1\r\n"


def test_tlv_accessors():
    header, _ = read([VALID["v2-tlvs"][0]])
    assert header.alpn == b"h2"
    assert header.authority == "example.org"
    assert header.unique_id == b"\x00" * 128
    assert header.tlv(0xE0) == b"custom"
    assert header.tlv(0xE1) is None
    ssl = header.ssl
    assert ssl is not None
    assert (ssl.client, ssl.verify, ssl.tls) == (0x05, 0, True)
    assert ssl.verified  # verify == 0 with a certificate presented (in the session)
    assert (ssl.version, ssl.common_name, ssl.cipher) == (
        "TLSv1.3", "client.example", "TLS_AES_128_GCM_SHA256")
    assert ssl.text(0x24) is None  # no signature algorithm sent
    plain, _ = read([VALID["v2-tcp4"][0]])
    assert (plain.alpn, plain.authority, plain.unique_id, plain.ssl) == (None,) * 4


def test_ssl_without_a_client_certificate_is_not_verified():
    # HAProxy sends verify 0 when no certificate was asked for: that proves nothing.
    data = v2(0x21, 0x11, IPV4_BLOCK + tlv(0x20, b"\x01\0\0\0\0"))
    ssl = read([data])[0].ssl
    assert ssl is not None and ssl.tls and not ssl.verified


def test_a_crc32c_checksum_is_verified(feed):
    data = build_v2(("10.0.0.1", 1), ("10.0.0.2", 2), tlvs=[(0x01, b"h2")], checksum=True)
    chunks, trailing = feed(data)
    header, rest = read(chunks)
    assert header.tlv(0x03) == data[-4:]
    assert rest == trailing
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value (RFC 3720 B.4)


def test_max_size_bounds_the_v2_payload_exactly():
    data = build_v2(("10.0.0.1", 1), ("10.0.0.2", 2), tlvs=[(0xE0, b"x" * 100)])
    payload = len(data) - 16
    assert read([data], max_size=payload)[0].tlv(0xE0) == b"x" * 100
    assert refused_at(data, max_size=payload - 1) == 16  # before the payload arrives
    big = build_v2(("10.0.0.1", 1), ("10.0.0.2", 2), tlvs=[(0xE0, b"y" * 65520)])
    assert len(big) - 16 == 65535
    assert read([big], max_size=65535)[0].tlv(0xE0) == b"y" * 65520
    assert refused_at(big[:17]) == 16  # DEFAULT_MAX_SIZE
    assert read([v2(0x20, 0x00, b"")], max_size=0)[0].local


@pytest.mark.parametrize("bad", [-1, 65536, 1.5, "4096", True])
def test_max_size_is_checked(bad):
    with pytest.raises(ConfigError):
        ProxyHeaderReader(max_size=bad)
    assert DEFAULT_MAX_SIZE == 4096


# -- refusals -----------------------------------------------------------------------------------

V1_OK = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
# (bytes, how many bytes had arrived when the reader must refuse)
INVALID: dict[str, tuple[bytes, int]] = {
    # The first bytes start neither signature: refused on the first byte that shows it.
    "http-request": (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1),
    "tls-client-hello": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 1),
    "ssh-banner": (b"SSH-2.0-OpenSSH_9.6\r\n", 1),
    "lower-case-proxy": (b"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 1),
    "proxy-without-space": (b"PROXY\r\n", 6),
    "proxyx": (b"PROXYX TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 6),
    "v2-signature-broken": (SIG[:4] + b"\x01" + SIG[5:] + b"\x21\x11\x00\x00", 5),
    "v2-signature-last-byte": (SIG[:11] + b"\r\x21\x11\x00\x00", 12),
    # v1: exact single spaces, known family, CRLF, fields valid for the family (§2.1).
    "v1-unknown-family": (b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", 10),
    "v1-udp4": (b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", 8),
    "v1-unknownx": (b"PROXY UNKNOWNX\r\n", 14),
    "v1-double-space-after-proxy": (b"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 7),
    "v1-double-space-between-fields": (b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", 20),
    "v1-tab": (b"PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", 19),
    "v1-hex-in-tcp4": (b"PROXY TCP4 1.2.3.a 5.6.7.8 1 2\r\n", 18),
    "v1-bare-lf": (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", 31),
    "v1-bare-cr": (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\n", 32),
    "v1-unknown-bare-lf": (b"PROXY UNKNOWN\n", 14),
    "v1-trailing-space": (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", 31),
    "v1-too-few-fields": (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", 30),
    "v1-too-many-fields": (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", 31),
    "v1-family-only": (b"PROXY TCP4\r\n", 11),
    "v1-leading-zero-port": (b"PROXY TCP4 1.2.3.4 5.6.7.8 0443 2\r\n", 35),
    "v1-port-too-big": (b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", 36),
    "v1-port-negative": (b"PROXY TCP6 ::1 ::2 -1 2\r\n", 20),
    "v1-leading-zero-octet": (b"PROXY TCP4 192.168.0.01 1.2.3.4 1 2\r\n", 37),
    "v1-octet-too-big": (b"PROXY TCP4 256.1.1.1 1.2.3.4 1 2\r\n", 34),
    "v1-three-octets": (b"PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n", 30),
    "v1-ipv6-in-tcp4": (b"PROXY TCP4 ::1 ::1 1 2\r\n", 12),
    "v1-ipv4-in-tcp6": (b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", 13),
    "v1-ipv6-dotted-quad": (b"PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n", 20),
    "v1-ipv6-scope": (b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", 19),
    "v1-ipv6-two-double-colons": (b"PROXY TCP6 1::2::3 ::1 1 2\r\n", 28),
    "v1-ipv6-five-hex-digits": (b"PROXY TCP6 12345::1 ::1 1 2\r\n", 29),
    # §2.1: no CRLF in the first 107 bytes.
    "v1-overlong-unknown": (b"PROXY UNKNOWN " + b"f" * 93 + b"\r\n", V1_MAX_LINE),
    "v1-overlong-tcp6-field": (b"PROXY TCP6 " + b"1" * 100 + b"\r\n", V1_MAX_LINE),
    "v1-endless-spaces-refused-early": (b"PROXY UNKNOWN" + b" " * 200, V1_MAX_LINE),
    # v2: version nibble, command, family and transport, lengths, TLVs (§2.2).
    "v2-version-1": (v2(0x11, 0x11, IPV4_BLOCK), 13),
    "v2-version-3": (v2(0x31, 0x11, IPV4_BLOCK), 13),
    "v2-command-2": (v2(0x22, 0x11, IPV4_BLOCK), 13),
    "v2-family-4": (v2(0x21, 0x41, IPV4_BLOCK), 14),
    "v2-transport-3": (v2(0x21, 0x13, IPV4_BLOCK), 14),
    "v2-length-over-max-size": (v2(0x21, 0x11, IPV4_BLOCK + tlv(0xE0, b"z" * 5000)), 16),
    "v2-tcp4-block-short": (v2(0x21, 0x11, IPV4_BLOCK[:11]), 27),
    "v2-tcp6-block-short": (v2(0x21, 0x21, bytes(35)), 51),
    "v2-unix-block-short": (v2(0x21, 0x31, bytes(215)), 231),
    "v2-local-block-short": (v2(0x20, 0x11, bytes(4)), 20),
    "v2-truncated-tlv-header": (v2(0x21, 0x11, IPV4_BLOCK + b"\x01\x00"), 30),
    "v2-truncated-tlv-value": (v2(0x21, 0x11, IPV4_BLOCK + b"\x01\x00\x05h2"), 33),
    "v2-bad-crc32c": (v2(0x21, 0x11, IPV4_BLOCK + tlv(0x03, b"\0\0\0\0")), 35),
    "v2-crc32c-wrong-size": (v2(0x21, 0x11, IPV4_BLOCK + tlv(0x03, b"\0\0\0")), 34),
    "v2-authority-not-utf8": (v2(0x21, 0x11, IPV4_BLOCK + tlv(0x02, b"\xff\xfe")), 33),
    "v2-ssl-too-short": (v2(0x21, 0x11, IPV4_BLOCK + tlv(0x20, b"\x01\0\0")), 34),
    "v2-ssl-truncated-sub-tlv": (v2(0x21, 0x11, IPV4_BLOCK + tlv(0x20, b"\x01\0\0\0\0\x21\0")),
                                 38),
    "v2-ssl-version-not-utf8": (
        v2(0x21, 0x11, IPV4_BLOCK + tlv(0x20, b"\x01\0\0\0\0" + tlv(0x21, b"\xc0"))), 40),
}
# Cut short by EOF: refused when EOF is reported, since more bytes could still complete them.
TRUNCATED: dict[str, tuple[bytes, int]] = {
    "v1-truncated": (V1_OK[:-1], len(V1_OK)),
    "v1-prefix-only": (b"PROX", 5),
    "v2-truncated-fixed-part": (SIG + b"\x21\x11\x00", 16),
    "v2-truncated-payload": (v2(0x21, 0x11, IPV4_BLOCK)[:-1], 28),
    "empty-connection": (b"", 1),
}


@pytest.mark.parametrize("name", [*INVALID, *TRUNCATED])
def test_invalid_headers_are_refused_as_early_as_the_bytes_show_it(name):
    data, at = INVALID.get(name) or TRUNCATED[name]
    assert refused_at(data) == at


@pytest.mark.parametrize("name", list(INVALID))
def test_invalid_headers_are_refused_however_they_arrive(name, feed):
    data, _ = INVALID[name]
    assert_refused(feed(data)[0])


# Application bytes after a truncated header would complete it: three feeds, not four.
@pytest.mark.parametrize("how", ["whole", "bytewise", "random"])
@pytest.mark.parametrize("name", list(TRUNCATED))
def test_truncated_headers_are_refused_at_eof_however_they_arrive(name, how):
    data, _ = TRUNCATED[name]
    assert_refused(FEEDS[how](data)[0])


def assert_refused(chunks: list[bytes]) -> None:
    reader = ProxyHeaderReader()
    with pytest.raises(ProxyProtocolError):
        for chunk in [*chunks, b""]:
            reader.receive_data(chunk)
            if reader.next_header() is not None:
                break  # a valid header followed by APP would end up here: a failure
    with pytest.raises(ProxyProtocolError):  # the verdict sticks
        reader.next_header()


def test_the_proxy_protocol_error_is_a_remote_protocol_error_and_a_value_error():
    assert issubclass(ProxyProtocolError, RemoteProtocolError)
    assert issubclass(ProxyProtocolError, WirekitError)
    assert issubclass(ProxyProtocolError, ValueError)
    reader = ProxyHeaderReader()
    reader.receive_data(b"\x00" * 1000)
    with pytest.raises(ProxyProtocolError, match="not a PROXY protocol header") as caught:
        reader.next_header()
    assert len(str(caught.value)) < 120  # never echoes the peer's whole input


def test_misuse_is_a_local_protocol_error():
    reader = ProxyHeaderReader()
    reader.receive_data(b"PROXY UNK")
    with pytest.raises(LocalProtocolError):
        reader.rest()
    reader.receive_data(b"")
    with pytest.raises(LocalProtocolError):
        reader.receive_data(b"NOWN\r\n")


# -- the shared corpus (gunicorn's PROXY protocol vectors) --------------------------------------

CORPUS = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists()
              ).parent / "shared" / "corpora" / "http-requests"


def corpus(kind: str) -> list[str]:
    return sorted(p.name for p in (CORPUS / kind).glob("pp_*.http"))


def load(kind: str, name: str) -> bytes:
    """Decode a corpus file as its README says: drop newlines, expand \\r \\n \\xNN."""
    path = CORPUS / kind / name
    if not path.is_file():
        pytest.skip(f"shared corpus not found at {path}")
    text = path.read_bytes().replace(b"\n", b"")
    text = text.replace(b"\\r", b"\r").replace(b"\\n", b"\n")
    parts = text.split(b"\\x")
    return parts[0] + b"".join(bytes.fromhex(p[:2].decode()) + p[2:] for p in parts[1:])


@pytest.mark.parametrize("name", corpus("valid") or ["pp_01.http"])
def test_corpus_valid_files(name, feed):
    data = load("valid", name)
    if not data.startswith((b"PROXY ", SIG)):
        # pp_03 is gunicorn's "header optional" case: the spec forbids guessing (§2), so a
        # listener that requires the header refuses a connection without one.
        assert refused_at(data) == 1
        return
    chunks, trailing = feed(data)
    header, rest = read(chunks)
    assert not header.local
    assert rest.startswith((b"GET ", b"POST ")) and rest.endswith(trailing)
    # What follows the header is intact HTTP: the core behind it reads a request from it.
    http = Connection(Role.SERVER, dangerous_allow_missing_host=True)
    http.receive_data(rest)
    assert isinstance(http.next_event(), Request)


@pytest.mark.parametrize("name", corpus("invalid") or ["pp_01.http"])
def test_corpus_invalid_files(name):
    data = load("invalid", name)
    assert refused_at(data) <= len(data)


# -- encoders and properties --------------------------------------------------------------------


def test_encoders_refuse_what_the_protocol_cannot_carry():
    bad_calls: list[Callable[[], bytes]] = [
        lambda: build_v1(("1.2.3.4", 1), None),
        lambda: build_v1(("1.2.3.4", 1), ("::1", 2)),
        lambda: build_v1(("1.2.3.4", 70000), ("1.2.3.4", 1)),
        lambda: build_v1(("example.org", 1), ("1.2.3.4", 1)),
        build_v2,
        lambda: build_v2(("1.2.3.4", 1), ("1.2.3.4", 2), local=True),
        lambda: build_v2(("1.2.3.4", 1), ("1.2.3.4", 2), family="tcp6"),
        lambda: build_v2(("1.2.3.4", 1), "/path"),
        lambda: build_v2("x" * 109, "/path"),
        lambda: build_v2(local=True, tlvs=[(256, b"")]),
        lambda: build_v2(local=True, tlvs=[(1, b"x" * 65536)]),
        lambda: build_v2(local=True, tlvs=[(1, b"x" * 40000), (2, b"y" * 40000)]),
    ]
    for call in bad_calls:
        with pytest.raises(LocalProtocolError):
            call()


def test_encoders_produce_the_spec_layouts():
    assert build_v1() == b"PROXY UNKNOWN\r\n"
    assert build_v1(("192.168.0.1", 56324), ("192.168.0.11", 443)) == VALID["v1-spec-example"][0]
    assert build_v2(local=True) == v2(0x20, 0x00, b"")
    assert build_v2(family="unknown") == v2(0x21, 0x00, b"")
    assert build_v2(("192.168.0.1", 56324), ("192.168.0.11", 443)) == VALID["v2-tcp4"][0]
    assert build_v2(("192.168.0.1", 56324), ("192.168.0.11", 443), family="udp4") == \
        VALID["v2-udp4"][0]


IPV4 = st.ip_addresses(v=4).map(str)
IPV6 = st.ip_addresses(v=6).map(str)
PORT = st.integers(0, 65535)
# Paths as os.fsdecode gives them: no NUL, and no lone surrogate outside surrogateescape's.
PATH = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
               min_size=1, max_size=30)
TLVS = st.lists(st.tuples(st.integers(0xE0, 0xEF), st.binary(max_size=40)), max_size=4)


def split_feed(data: bytes, cuts: list[int], trailing: bytes) -> tuple[ProxyHeader, bytes]:
    whole = data + trailing
    points = sorted({c % (len(whole) + 1) for c in cuts} | {0, len(whole)})
    return read([whole[a:b] for a, b in itertools.pairwise(points)])


@given(st.one_of(st.tuples(IPV4, IPV4), st.tuples(IPV6, IPV6)), PORT, PORT,
       st.lists(st.integers(0, 200), max_size=8), st.binary(max_size=30))
def test_v1_round_trip(ips, sport, dport, cuts, trailing):
    data = build_v1((ips[0], sport), (ips[1], dport))
    assert len(data) <= V1_MAX_LINE
    header, rest = split_feed(data, cuts, trailing)
    family = "tcp4" if "." in ips[0] else "tcp6"
    assert header == ProxyHeader(1, False, family, (ips[0], sport), (ips[1], dport))
    assert rest == trailing


ENDPOINTS = st.one_of(
    st.tuples(st.sampled_from(["tcp4", "udp4"]), st.tuples(IPV4, PORT), st.tuples(IPV4, PORT)),
    st.tuples(st.sampled_from(["tcp6", "udp6"]), st.tuples(IPV6, PORT), st.tuples(IPV6, PORT)),
    st.tuples(st.sampled_from(["unix", "unix_dgram"]), PATH, PATH),
)


@settings(max_examples=200)
@given(ENDPOINTS, TLVS, st.booleans(), st.lists(st.integers(0, 400), max_size=8),
       st.binary(max_size=30))
def test_v2_round_trip(endpoints, tlvs, checksum, cuts, trailing):
    family, source, destination = endpoints
    data = build_v2(source, destination, family=family, tlvs=tlvs, checksum=checksum)
    header, rest = split_feed(data, cuts, trailing)
    assert (header.version, header.local, header.family) == (2, False, family)
    assert (header.source, header.destination) == (source, destination)
    assert header.tlvs[: len(tlvs)] == tuple(tlvs)
    assert len(header.tlvs) == len(tlvs) + checksum
    assert rest == trailing


@given(TLVS, st.lists(st.integers(0, 400), max_size=8), st.binary(max_size=30))
def test_v2_local_round_trip(tlvs, cuts, trailing):
    header, rest = split_feed(build_v2(local=True, tlvs=tlvs), cuts, trailing)
    assert header == ProxyHeader(2, True, "unknown", tlvs=tuple(tlvs))
    assert rest == trailing


def _outcome(chunks: list[bytes]) -> object:
    reader = ProxyHeaderReader()
    fed = [*chunks, b""]
    try:
        for i, chunk in enumerate(fed):
            reader.receive_data(chunk)
            if (header := reader.next_header()) is not None:
                for later in fed[i + 1 :]:  # rest() is every byte after the header
                    reader.receive_data(later)
                return header, reader.rest()
    except ProxyProtocolError:
        return "refused"
    raise AssertionError("EOF without a verdict")


@settings(max_examples=300)
@given(st.one_of(
    st.binary(max_size=120),
    st.sampled_from([v for v, _ in VALID.values()]).flatmap(
        lambda v: st.tuples(st.just(v), st.integers(0, len(v) - 1), st.integers(0, 255)).map(
            lambda t: t[0][: t[1]] + bytes((t[2],)) + t[0][t[1] + 1 :]))),
)
@example(b"\r\n\r\n\x00\r\nQUIT\n \x00\x00\x00\x00")  # a header, then a byte of rest
def test_any_input_gets_the_same_verdict_however_it_is_split(data):
    """Fuzz: random bytes and one-byte mutations of the vectors never crash the reader, and
    whole or byte-by-byte feeding ends the same way (a header and rest, or a refusal)."""
    whole = _outcome([data])
    assert whole == _outcome([data[i : i + 1] for i in range(len(data))])
    assert whole == _outcome(_random_split(data, 7))
