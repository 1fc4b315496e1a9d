"""Authentication for the client: Basic (sent up front) and Digest (answering a 401).

An auth object produces the ``Authorization`` value for a request and, given a 401, may ask
for one retry with a new value. The session applies it only to the origin of the URL the
call started with (SECURITY.md K02, K10): a redirect to another host, port or a downgraded
scheme goes without credentials.

Digest remembers the last challenge per origin and realm, so later requests answer it
directly with a growing nonce count instead of taking a 401 each time (RFC 7616 §3.4).
The challenge is parsed by :mod:`wirekit.proto.http.auth` in linear time.
"""

from __future__ import annotations

import secrets
import threading
from typing import Protocol, TypeAlias

from wirekit.errors import RemoteProtocolError
from wirekit.http.client.urls import URL
from wirekit.proto.http import Headers
from wirekit.proto.http.auth import (
    DIGEST_ALGORITHMS,
    Challenge,
    basic_credentials,
    digest_credentials,
    parse_challenges,
)

__all__ = ["Auth", "AuthArg", "BasicAuth", "DigestAuth", "to_auth"]


class Auth(Protocol):
    """What the session asks of an auth object."""

    def authorization(self, method: str, url: URL) -> str | None:
        """The ``Authorization`` value to send now, if any."""

    def retry(self, method: str, url: URL, headers: Headers) -> str | None:
        """After a 401 with these headers: the value to retry with, or ``None`` to stop."""


class BasicAuth:
    """``Authorization: Basic`` (RFC 7617) on every request to the origin."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._value = basic_credentials(username, password)

    def authorization(self, method: str, url: URL) -> str | None:
        return self._value

    def retry(self, method: str, url: URL, headers: Headers) -> str | None:
        return None  # the credentials were already sent: a 401 is final

    def __repr__(self) -> str:
        return f"BasicAuth({self.username!r}, ...)"


class DigestAuth:
    """``Authorization: Digest`` (RFC 7616: MD5, SHA-256, SHA-512-256 and their -sess forms;
    ``qop=auth``). Thread-safe: one instance may serve a whole session."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._password = password
        self._lock = threading.Lock()
        # origin -> [challenge, nonce count]
        self._state: dict[tuple, list] = {}

    def authorization(self, method: str, url: URL) -> str | None:
        with self._lock:
            state = self._state.get(url.origin)
            if state is None:
                return None
            state[1] += 1
            challenge, count = state
        return self._answer(challenge, count, method, url)

    def retry(self, method: str, url: URL, headers: Headers) -> str | None:
        try:
            challenge = _pick(parse_challenges(headers.get_list("www-authenticate")))
        except RemoteProtocolError:
            return None  # a malformed challenge cannot be answered: the 401 stands
        if challenge is None:
            return None
        with self._lock:
            previous = self._state.get(url.origin)
            stale = challenge.params.get("stale", "").lower() == "true"
            if (previous is not None and not stale
                    and previous[0].params.get("nonce") == challenge.params.get("nonce")):
                return None  # the same nonce refused again: the credentials are wrong
            self._state[url.origin] = [challenge, 1]
        return self._answer(challenge, 1, method, url)

    def _answer(self, challenge: Challenge, count: int, method: str, url: URL) -> str:
        return digest_credentials(challenge, method=method, uri=url.target,
                                  username=self.username, password=self._password, nc=count,
                                  cnonce=secrets.token_hex(16))

    def __repr__(self) -> str:
        return f"DigestAuth({self.username!r}, ...)"


def _pick(challenges: list[Challenge]) -> Challenge | None:
    """The first Digest challenge we can answer (the server lists them by preference)."""
    for challenge in challenges:
        if challenge.scheme != "digest" or "nonce" not in challenge.params:
            continue
        algorithm = challenge.params.get("algorithm", "MD5").upper().removesuffix("-SESS")
        qop = challenge.params.get("qop")
        if algorithm in DIGEST_ALGORITHMS and (
                qop is None or "auth" in (q.strip().lower() for q in qop.split(","))):
            return challenge
    return None  # nothing we can answer: the 401 stands


AuthArg: TypeAlias = "tuple[str, str] | BasicAuth | DigestAuth | Auth | None"


def to_auth(value: AuthArg) -> Auth | None:
    """``(user, password)`` means Basic; an auth object is used as it is."""
    if value is None:
        return None
    if isinstance(value, tuple):
        if len(value) != 2:
            raise TypeError("auth= takes (username, password) or an auth object")
        return BasicAuth(*value)
    if hasattr(value, "authorization") and hasattr(value, "retry"):
        return value
    raise TypeError(f"auth= takes (username, password) or an auth object, not {value!r}")
