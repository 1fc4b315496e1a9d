"""SMTP's grammar, both ways: command lines, paths and parameters (RFC 5321 §4.1), and the
transparency of message content (dot-stuffing, §4.5.2).

The server side parses what a client sent and raises :class:`CommandRefused` carrying the
reply to give; the client side checks what it is asked to send and raises
:class:`LocalProtocolError` before a byte leaves, so that an address such as
``a@b>\\r\\nRCPT TO:<c@d>`` can never become two commands (SECURITY.md M03, bpo-43124).

Content ends only at CRLF ``.`` CRLF. A bare LF or CR anywhere in content is refused rather
than normalised on the server side: two servers that disagree on where a message ends let an
attacker smuggle a second message inside the first (SMTP smuggling, CVE-2023-51764/5/6). A
client normalises line endings before it stuffs, as smtplib does, so what it sends is always
unambiguous.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from wirekit.errors import LocalProtocolError, RemoteProtocolError
from wirekit.proto.smtp.events import MailFrom

__all__ = [
    "CommandRefused",
    "check_address",
    "check_domain",
    "content_problem",
    "parse_mail",
    "parse_path",
    "parse_rcpt",
    "split_command",
    "stuff",
    "unstuff",
]

#: RFC 5321 §4.5.3.1: local part 64, domain 255, path 256 octets.
MAX_LOCAL_PART: Final = 64
MAX_DOMAIN: Final = 255
MAX_PATH: Final = 256

# RFC 5322 atext, plus any non-ASCII character (RFC 6531 §3.3 extends it with UTF-8).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+"
_DOT_STRING = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
# qtextSMTP / quoted-pairSMTP (RFC 5321 §4.1.2): printable ASCII, or UTF-8 with SMTPUTF8.
_QUOTED = re.compile(r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\U0010ffff]|\\[\x20-\x7e])*"')
_LETDIG = r"[A-Za-z0-9\u0080-\U0010ffff]"  # let-dig, or a U-label's characters (RFC 6531)
_LABEL = rf"{_LETDIG}(?:[A-Za-z0-9\-\u0080-\U0010ffff]*{_LETDIG})?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_LITERAL = re.compile(r"\[[\x21-\x5a\x5e-\x7e]+\]")  # address literal, checked loosely
_SOURCE_ROUTE = re.compile(r"@[^,:]+(?:,@[^,:]+)*:")  # obsolete, accepted and ignored
_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*")
_VALUE = re.compile(r"[\x21-\x3c\x3e-\x7e\u0080-\U0010ffff]+")  # esmtp-value (+ UTF-8)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class CommandRefused(RemoteProtocolError):
    """A command the server answers with ``code`` ``enhanced`` ``text`` instead of acting."""

    def __init__(self, code: int, enhanced: str, text: str) -> None:
        super().__init__(f"{code} {enhanced} {text}")
        self.code, self.enhanced, self.text = code, enhanced, text


def _syntax(text: str) -> CommandRefused:
    return CommandRefused(501, "5.5.4", text)


# -- command lines --------------------------------------------------------------------------
def split_command(line: bytes) -> tuple[str, str]:
    """``(VERB, argument)`` of a command line without its CRLF; the argument is UTF-8 text
    (RFC 6531 lets addresses carry it). Raises :class:`CommandRefused` (500) for bytes that
    are not a command."""
    if b"\r" in line or b"\n" in line:
        raise CommandRefused(500, "5.5.2", "Bare CR or LF in a command refused "
                                           "(RFC 5321 §2.3.8)")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandRefused(500, "5.5.2", "Command is not UTF-8") from None
    if "\x00" in text:
        raise CommandRefused(500, "5.5.2", "NUL in a command refused")
    verb, _, argument = text.partition(" ")
    if not verb.isascii() or not verb.isalpha():
        raise CommandRefused(500, "5.5.2", "Syntax error, command unrecognized")
    return verb.upper(), argument.strip(" ")


def parse_path(text: str, *, null_ok: bool) -> tuple[str, str]:
    """``(address, rest)`` from text starting with ``<path>``; the null path ``<>`` gives
    ``""`` when ``null_ok`` (a reverse-path, RFC 5321 §4.1.1.2)."""
    if not text.startswith("<"):
        raise _syntax("Syntax error in address: <...> expected")
    end = _path_end(text)
    inner, rest = text[1:end], text[end + 1:]
    if rest and not rest.startswith(" "):
        raise _syntax("Syntax error after the address")
    if route := _SOURCE_ROUTE.match(inner):
        inner = inner[route.end():]  # RFC 5321 §4.1.2: MUST accept and ignore
    if inner == "":
        if not null_ok:
            raise _syntax("A recipient cannot be the null path")
        return "", rest
    problem = address_problem(inner)
    if problem is not None:
        raise _syntax(f"Bad address: {problem}")
    return inner, rest


def _path_end(text: str) -> int:
    """Index of the ``>`` closing the path at ``text[0]``, skipping a quoted local part."""
    quoted = escaped = False
    for index in range(1, min(len(text), MAX_PATH + 2)):
        char = text[index]
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ">" and not quoted:
            return index
    raise _syntax(f"Syntax error in address, or longer than {MAX_PATH} octets")


@functools.lru_cache(maxsize=1024)
def address_problem(address: str) -> str | None:
    """Why ``address`` is not ``local-part@domain`` (or ``postmaster``), or None.

    Cached: a client checks each address twice per message (the envelope, then the core),
    a server sees the same few again and again; a path is at most 256 octets."""
    local, at, domain = address.rpartition("@")
    if _CONTROL.search(address) is not None:
        problem = "control characters"
    elif len(address.encode()) > MAX_PATH:
        problem = f"longer than {MAX_PATH} octets"
    elif not at:
        problem = "no @domain"
    elif len(local.encode()) > MAX_LOCAL_PART:
        problem = f"local part longer than {MAX_LOCAL_PART} octets"
    elif not (_DOT_STRING.fullmatch(local) or _QUOTED.fullmatch(local)):
        problem = "bad local part"
    else:
        return domain_problem(domain)
    # RFC 5321 §4.1.1.3: <Postmaster> without a domain is a recipient too
    return None if address.lower() == "postmaster" else problem


@functools.lru_cache(maxsize=1024)
def domain_problem(domain: str) -> str | None:
    if len(domain.encode()) > MAX_DOMAIN:
        return f"domain longer than {MAX_DOMAIN} octets"
    if _DOMAIN.fullmatch(domain) or _LITERAL.fullmatch(domain):
        return None
    return "bad domain"


def parse_params(text: str) -> dict[str, str | None]:
    """``KEY=VALUE`` parameters (RFC 5321 §4.1.2), keywords upper-cased; no duplicates."""
    params: dict[str, str | None] = {}
    for item in text.split():
        key, eq, value = item.partition("=")
        if not _KEYWORD.fullmatch(key) or (eq and not _VALUE.fullmatch(value)):
            raise _syntax(f"Bad parameter {item[:40]!r}")
        key = key.upper()
        if key in params:
            raise _syntax(f"Parameter {key} given twice")
        params[key] = value if eq else None
    return params


def parse_mail(argument: str, max_size: int) -> MailFrom:
    """``MAIL FROM:<reverse-path> [params]`` into a :class:`MailFrom` (RFC 5321 §4.1.1.2)
    with SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531) and AUTH (RFC 4954 §5,
    accepted and ignored)."""
    if argument[:5].upper() != "FROM:":
        raise _syntax("Syntax: MAIL FROM:<address>")
    address, rest = parse_path(argument[5:].lstrip(" "), null_ok=True)
    params = parse_params(rest)
    size = body = None
    smtputf8 = False
    for key, value in params.items():
        if key == "SIZE":
            if value is None or not value.isdigit() or len(value) > 20:
                raise _syntax("SIZE needs a number")
            size = int(value)
            if size > max_size:
                raise CommandRefused(552, "5.3.4", f"Message size exceeds the limit of "
                                                   f"{max_size} octets")
        elif key == "BODY":
            if value is None or value.upper() not in ("7BIT", "8BITMIME"):
                raise _syntax("BODY must be 7BIT or 8BITMIME")
            body = value.upper()
        elif key == "SMTPUTF8" and value is None:
            smtputf8 = True
        elif key != "AUTH":
            raise CommandRefused(555, "5.5.4", f"Unsupported parameter {key}")
    if not smtputf8 and not address.isascii():
        raise CommandRefused(553, "5.6.7", "Non-ASCII address needs SMTPUTF8 (RFC 6531)")
    return MailFrom(address, size, body, smtputf8)


def parse_rcpt(argument: str, smtputf8: bool) -> str:
    """``RCPT TO:<forward-path>`` (RFC 5321 §4.1.1.3); no parameters are offered."""
    if argument[:3].upper() != "TO:":
        raise _syntax("Syntax: RCPT TO:<address>")
    address, rest = parse_path(argument[3:].lstrip(" "), null_ok=False)
    if rest.strip(" "):
        params = parse_params(rest)
        raise CommandRefused(555, "5.5.4", f"Unsupported parameter {next(iter(params))}")
    if not smtputf8 and not address.isascii():
        raise CommandRefused(553, "5.6.7", "Non-ASCII address needs SMTPUTF8 (RFC 6531)")
    return address


# -- the client's checks --------------------------------------------------------------------
def check_address(address: str, *, null_ok: bool = False) -> str:
    """``address`` if a server would read it as one mailbox; else :class:`LocalProtocolError`.

    Refuses CR, LF and every other control character, ``<``/``>`` outside a quoted local part,
    and anything that is not ``local-part@domain``: what could end the command early."""
    if address == "" and null_ok:
        return address
    problem = address_problem(address)
    if problem is not None:
        raise LocalProtocolError(f"refusing to send the address {address!r}: {problem}")
    return address


def check_domain(domain: str) -> str:
    """An EHLO argument: a domain or an address literal, nothing a line could end in."""
    if _CONTROL.search(domain) or domain_problem(domain) is not None:
        raise LocalProtocolError(f"refusing to send the EHLO domain {domain!r}")
    return domain


# -- content ------------------------------------------------------------------------------
_EOLS = re.compile(rb"\r\n|\r|\n")
_DOT_LINE = re.compile(rb"\n\.")


def stuff(data: bytes, max_line: int = 1000) -> bytes:
    """Content as a client sends it after 354: line endings made CRLF, each line starting
    with ``.`` given another (RFC 5321 §4.5.2), a final CRLF, and the ``.`` line that ends it.
    A line longer than ``max_line`` octets with its CRLF (§4.5.3.1.6) is refused."""
    crlf = data.count(b"\r\n")
    if data.count(b"\r") != crlf or data.count(b"\n") != crlf:
        data = _EOLS.sub(b"\r\n", data)  # smtplib's _fix_eols
    if data and not data.endswith(b"\r\n"):
        data += b"\r\n"
    if _has_long_line(data, max_line):
        raise LocalProtocolError(f"a line of the message is longer than {max_line} octets "
                                 "(RFC 5321 §4.5.3.1.6): encode it (quoted-printable)")
    if data.startswith(b"."):
        data = b"." + data
    if _DOT_LINE.search(data) is not None:  # a regex finds it faster than bytes.find
        data = data.replace(b"\n.", b"\n..")
    return data + b".\r\n"


def unstuff(data: bytes) -> bytes:
    """Content as the server received it (the lines before the ``.`` line, each with its
    CRLF) with the transparency dot removed (RFC 5321 §4.5.2)."""
    if data.startswith(b"."):
        data = data[1:]
    return data.replace(b"\r\n.", b"\r\n")


def content_problem(data: bytes, max_line: int) -> str | None:
    """Why content received by a server must be refused, or None: a bare CR or LF (the
    smuggling class, CVE-2023-51766), or a line longer than ``max_line`` with its CRLF."""
    crlf = data.count(b"\r\n")
    if data.count(b"\n") != crlf or data.count(b"\r") != crlf:
        return "Bare CR or LF in the message refused (RFC 5321 §2.3.8)"
    if _has_long_line(data, max_line):
        return f"Message has a line longer than {max_line} octets (RFC 5321 §4.5.3.1.6)"
    return None


def _has_long_line(data: bytes, max_line: int) -> bool:
    """True if a line of ``data`` (CRLF line ends only) is longer than ``max_line`` octets
    with its CRLF: a run of ``max_line`` octets without LF. Jumps from one window's last LF
    to the next window, so 20 MB of short lines cost a few thousand ``rfind`` calls (a regex
    tried at every octet cost seconds)."""
    position, size = 0, len(data)
    while size - position >= max_line:
        newline = data.rfind(b"\n", position, position + max_line)
        if newline < 0:
            return True
        position = newline + 1
    return False
