"""HTTP authentication without I/O: challenges, Basic (RFC 7617) and Digest (RFC 7616).

A client reads ``WWW-Authenticate``/``Proxy-Authenticate`` with :func:`parse_challenges` and
answers with :func:`basic_credentials` or :func:`digest_credentials`; a server can verify a
Digest answer by computing the same ``response`` value with :func:`digest_response`.

The challenge parser is a left-to-right scanner whose every regular expression matches a
distinct leading byte class, so it runs in linear time whatever the peer sends: urllib's
``AbstractBasicAuthHandler`` regex went exponential on ``Basic ,,,,`` (CVE-2020-8492,
CVE-2021-3733, SECURITY.md K10). The number of parameters is bounded as well.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote

from wirekit.errors import ConfigError, RemoteProtocolError
from wirekit.proto.http.grammar import TOKEN as _TOKEN

__all__ = [
    "DIGEST_ALGORITHMS",
    "Challenge",
    "basic_credentials",
    "digest_credentials",
    "digest_response",
    "parse_challenges",
]

_OWS_COMMAS: Final = re.compile(r"[ \t,]*")
_OWS: Final = re.compile(r"[ \t]*")
# auth-param = token BWS "=" BWS ( token / quoted-string ) (RFC 9110 §11.2)
_PARAM: Final = re.compile(
    r'([!#$%&\'*+\-.^_`|~0-9A-Za-z]+)[ \t]*=[ \t]*'
    r'(?:([!#$%&\'*+\-.^_`|~0-9A-Za-z]+)|"((?:[^"\\]|\\.)*)")'
)
# token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" (RFC 9110 §11.2)
_TOKEN68: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*(?=[ \t]*(?:,|$))")
_UNESCAPE: Final = re.compile(r"\\(.)")
#: At most this many auth-params across all challenges of one response.
MAX_PARAMS: Final = 64


@dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge: ``scheme`` lower-cased, ``params`` with lower-cased names."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None


def parse_challenges(values: Iterable[str]) -> list[Challenge]:
    """Every challenge in the given ``WWW-Authenticate`` values, in order.

    Raises ``RemoteProtocolError`` for malformed text or more than ``MAX_PARAMS`` params.
    """
    found: list[Challenge] = []
    count = 0
    for text in values:
        pos, end = 0, len(text)
        while True:
            pos = _skip(_OWS_COMMAS, text, pos)
            if pos >= end:
                break
            scheme = _TOKEN.match(text, pos)
            if scheme is None:
                raise RemoteProtocolError(f"malformed auth challenge {text[:80]!r}")
            pos = _skip(_OWS, text, scheme.end())
            params: dict[str, str] = {}
            token68 = None
            if _PARAM.match(text, pos) is None and (t68 := _TOKEN68.match(text, pos)):
                token68, pos = t68.group(), t68.end()
            else:  # #auth-param: empty list elements (",,") may come first (RFC 9110 §5.6.1)
                probe = _skip(_OWS_COMMAS, text, pos)
                if _PARAM.match(text, probe) is not None:
                    pos, count = _read_params(text, probe, params, count)
            found.append(Challenge(scheme.group().lower(), params, token68))
    return found


def _read_params(text: str, pos: int, params: dict[str, str], count: int) -> tuple[int, int]:
    """Read ``name=value`` pairs until the next challenge's scheme or the end."""
    while (param := _PARAM.match(text, pos)) is not None:
        count += 1
        if count > MAX_PARAMS:
            raise RemoteProtocolError(f"more than {MAX_PARAMS} auth parameters")
        name, token, quoted = param.groups()
        value = token if token is not None else _UNESCAPE.sub(r"\1", quoted)
        params.setdefault(name.lower(), value)  # a repeated parameter: the first one counts
        pos = _skip(_OWS, text, param.end())
        if pos < len(text) and text[pos] != ",":
            raise RemoteProtocolError(f"malformed auth parameters in {text[:80]!r}")
        pos = _skip(_OWS_COMMAS, text, pos)
    return pos, count


def _skip(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where ``pattern`` (``_OWS`` or ``_OWS_COMMAS``) stops matching from ``pos`` on."""
    match = pattern.match(text, pos)
    assert match is not None  # a starred class: it matches, if only the empty string
    return match.end()


def _check_credential(value: str, what: str) -> None:
    if any(c in value for c in "\r\n\x00"):
        raise ConfigError(f"{what} must not contain CR, LF or NUL")


def basic_credentials(username: str, password: str) -> str:
    """The ``Authorization`` value for Basic (RFC 7617), UTF-8 encoded (§2.1 charset)."""
    _check_credential(username, "username")
    _check_credential(password, "password")
    if ":" in username:
        raise ConfigError("a Basic username cannot contain ':' (RFC 7617 §2)")
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _sha512_256(data: bytes) -> hashlib._Hash:
    return hashlib.new("sha512_256", data)


#: RFC 7616 §3.2 algorithms (each also with "-sess") -> hash function.
DIGEST_ALGORITHMS: Final[dict[str, Callable[[bytes], hashlib._Hash]]] = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
    "SHA-512-256": _sha512_256,
}


def _hasher(algorithm: str) -> Callable[[str], str]:
    base = algorithm.upper().removesuffix("-SESS")
    function = DIGEST_ALGORITHMS.get(base)
    if function is None:
        raise RemoteProtocolError(f"unsupported Digest algorithm {algorithm[:40]!r}")
    return lambda text: function(text.encode()).hexdigest()


def digest_response(
    params: dict[str, str], *, method: str, uri: str, username: str, password: str,
    nc: str = "00000001", cnonce: str = "", qop: str | None = "auth",
) -> str:  # fmt: skip
    """The ``response`` value of RFC 7616 §3.4.1 for a challenge's ``params``.

    ``qop=None`` is the RFC 2069 form (no ``cnonce``/``nc``) that old servers still send.
    """
    algorithm = params.get("algorithm", "MD5")
    h = _hasher(algorithm)
    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    ha1 = h(f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    if qop is None:
        return h(f"{ha1}:{nonce}:{ha2}")
    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def digest_credentials(
    challenge: Challenge, *, method: str, uri: str, username: str, password: str,
    nc: int, cnonce: str,
) -> str:  # fmt: skip
    """The ``Authorization`` value answering a Digest ``challenge`` (RFC 7616 §3.4).

    Only ``qop=auth`` is spoken (``auth-int`` would need the whole body hashed before it is
    sent, which a streamed upload cannot do); a challenge offering only ``auth-int`` is
    refused. ``cnonce`` comes from the caller so this stays deterministic and testable.
    """
    _check_credential(username, "username")
    _check_credential(password, "password")
    params = challenge.params
    if "nonce" not in params:
        raise RemoteProtocolError("Digest challenge without a nonce")
    offered = [q.strip().lower() for q in params["qop"].split(",")] if "qop" in params else None
    if offered is not None and "auth" not in offered:
        raise RemoteProtocolError(f"Digest qop {params['qop'][:40]!r} is not supported")
    qop = None if offered is None else "auth"
    ncvalue = f"{nc:08x}"
    algorithm = params.get("algorithm", "MD5")
    realm = params.get("realm", "")
    hashed = params.get("userhash", "").lower() == "true"  # RFC 7616 §3.4.4
    name = _hasher(algorithm)(f"{username}:{realm}") if hashed else username
    response = digest_response(params, method=method, uri=uri, username=username,
                               password=password, nc=ncvalue, cnonce=cnonce, qop=qop)
    if name.isascii() and name.isprintable():
        parts = [f"username={_quoted(name)}"]
    else:  # RFC 7616 §3.4.4: username* with RFC 8187 encoding
        parts = [f"username*=UTF-8''{quote(name, safe='')}"]
    parts += [f"realm={_quoted(realm)}", f"nonce={_quoted(params['nonce'])}",
              f"uri={_quoted(uri)}", f"algorithm={algorithm}", f"response={_quoted(response)}"]
    if "opaque" in params:
        parts.append(f"opaque={_quoted(params['opaque'])}")
    if qop is not None:
        parts += [f"qop={qop}", f"nc={ncvalue}", f"cnonce={_quoted(cnonce)}"]
    if hashed:
        parts.append("userhash=true")
    return "Digest " + ", ".join(parts)
