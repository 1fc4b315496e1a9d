"""What FTP replies carry, parsed, and the addresses the client sends, formatted.

Each function takes a :class:`~wirekit.proto.replies.Reply` (or text) and raises
:class:`RemoteProtocolError` when the server's answer does not have the form its RFC gives,
so a shell never guesses at a malformed reply.

* ``227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`` (RFC 959 §4.1.2, PASV). The *address* in
  it is returned but must not be used: a server (or whoever rewrites its replies) can name any
  host, and a client that connects there can be made to scan the inside of a network
  (CVE-2021-4189, SECURITY.md F01). The shells connect to the control connection's peer.
* ``229 Entering Extended Passive Mode (|||port|)`` (RFC 2428 §3, EPSV): a port only.
* ``PORT h1,h2,h3,h4,p1,p2`` and ``EPRT |1|addr|port|`` / ``|2|addr|port|`` (RFC 2428 §2).
* ``257 "path"`` with ``""`` for a quote inside (RFC 959 Appendix II).
* ``213 size`` (RFC 3659 §4) and ``213 YYYYMMDDHHMMSS[.sss]`` in UTC (RFC 3659 §2.3, §3).
* ``211-Features:`` then one feature a line, then ``211 End`` (RFC 2389 §3.2).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from typing import Final

from wirekit.errors import ConfigError, RemoteProtocolError
from wirekit.proto.replies import Reply

__all__ = [
    "format_eprt",
    "format_port",
    "parse_epsv",
    "parse_features",
    "parse_pasv",
    "parse_pwd",
    "parse_size",
    "parse_time",
]

_PASV: Final = re.compile(r"(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})")
# RFC 2428 §3: the delimiter is any printable ASCII character (33-126), "|" in practice.
_EPSV: Final = re.compile(r"\(([!-~])\1\1(\d{1,5})\1\)")
_TIME: Final = re.compile(r"(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.(\d{1,9}))?")


def _fail(what: str, reply: Reply) -> RemoteProtocolError:
    return RemoteProtocolError(f"malformed {what} reply: {str(reply)[:200]!r}")


def parse_pasv(reply: Reply) -> tuple[str, int]:
    """``(host, port)`` from a 227 reply. The host is for show only: see the module docs."""
    match = _PASV.search(reply.text)
    if reply.code != 227 or match is None:
        raise _fail("PASV", reply)
    numbers = [int(n) for n in match.groups()]
    if any(n > 255 for n in numbers) or not (port := numbers[4] << 8 | numbers[5]):
        raise _fail("PASV", reply)
    return ".".join(map(str, numbers[:4])), port


def parse_epsv(reply: Reply) -> int:
    """The port of a 229 reply."""
    match = _EPSV.search(reply.text)
    if reply.code != 229 or match is None or not 0 < int(match.group(2)) < 65536:
        raise _fail("EPSV", reply)
    return int(match.group(2))


def format_port(host: str, port: int) -> str:
    """PORT's argument for an IPv4 ``host`` (RFC 959 §4.1.2)."""
    address = _ip(host)
    if address.version != 4:
        raise ConfigError(f"PORT takes an IPv4 address, not {host!r} (use EPRT)")
    return ",".join([*str(address).split("."), str(port >> 8), str(port & 255)])


def format_eprt(host: str, port: int) -> str:
    """EPRT's argument (RFC 2428 §2): ``|1|`` for IPv4, ``|2|`` for IPv6."""
    address = _ip(host)
    return f"|{1 if address.version == 4 else 2}|{address}|{port}|"


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        raise ConfigError(f"an active-mode address must be an IP address, not {host!r}") from None


def parse_pwd(reply: Reply) -> str:
    """The directory of a 257 reply (to PWD or MKD): the text between the first quote and the
    quote that is not doubled."""
    text = reply.lines[0]
    start = text.find('"')
    if reply.code != 257 or start < 0:
        raise _fail("257 (directory)", reply)
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == '"':
            if text[i + 1:i + 2] != '"':
                return "".join(out)
            i += 1
        out.append(char)
        i += 1
    raise _fail("257 (directory)", reply)


def parse_size(reply: Reply) -> int:
    """The octet count of a 213 reply to SIZE."""
    text = reply.lines[0].strip()
    if reply.code != 213 or not text.isdigit() or not text.isascii():
        raise _fail("SIZE", reply)
    return int(text)


def parse_time(text: str) -> datetime:
    """An RFC 3659 time-val (``YYYYMMDDHHMMSS[.sss]``, always UTC) as an aware datetime.

    A 1,000-entry MLSD listing parses one per entry, so the common form goes through
    ``fromisoformat`` (C, 0.3 us) rather than a regular expression and six ``int()`` (2 us).
    """
    if len(text) == 14 and text.isdigit():
        try:
            return datetime.fromisoformat(text[:8] + "T" + text[8:] + "+00:00")
        except ValueError:
            pass  # a 13th month, a leap second: the careful way says
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise RemoteProtocolError(f"malformed time value {text[:40]!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = match.group(7)
    micros = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        return datetime(year, month, day, hour, minute, min(second, 59), micros, tzinfo=UTC)
    except ValueError:
        raise RemoteProtocolError(f"malformed time value {text[:40]!r}") from None


def parse_features(reply: Reply) -> dict[str, str]:
    """FEAT's features: upper-case name -> its parameters (``"REST" -> "STREAM"``,
    ``"MLST" -> "type*;size*;modify*;"``). A refused FEAT (an old server) means none."""
    if reply.code != 211:
        return {}
    found: dict[str, str] = {}
    for line in reply.lines[1:-1] if len(reply.lines) > 2 else ():
        name, _, params = line.strip().partition(" ")
        if name:
            found[name.upper()] = params.strip()
    return found
