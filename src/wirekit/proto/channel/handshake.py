"""The authkey handshake of ``multiprocessing.connection``, byte for byte, as pure functions.

Both sides prove they hold the shared ``authkey`` without sending it: each sends the other a
random challenge and checks the HMAC that comes back, so the handshake is mutual. The side that
accepted the connection challenges first (CPython's ``Listener.accept``: ``deliver_challenge``
then ``answer_challenge``); the connecting side answers first (``Client``)::

    accepting side                                connecting side
    #CHALLENGE#{sha256}<40 random bytes>   --->
                                           <---   {sha256}HMAC-SHA256(authkey, message)
    #WELCOME#  (or #FAILURE# and close)    --->
                                           <---   #CHALLENGE#{sha256}<40 random bytes>
    {sha256}HMAC-SHA256(authkey, message)  --->
                                           <---   #WELCOME#

This is CPython 3.12's protocol (gh-61460): the challenge names its digest in braces and the
MAC covers the whole message, braces included, so a peer cannot talk the other down to a
weaker digest than it offered. Python 3.11 and older speak the legacy form: a bare 20-byte
challenge answered by a bare 16-byte HMAC-MD5. A 3.12 side recognises a legacy peer by those
lengths and answers or accepts HMAC-MD5; so does this module, unless ``allow_md5=False``.

Every comparison is ``hmac.compare_digest`` (3.11's ``==`` leaked timing, SECURITY.md R02), and
the nonce is fresh ``os.urandom`` per connection (the shells make it), so a response captured
from one connection is worth nothing on the next. No role label enters the MAC: the standard
library's peers would not compute it. Reflection (sending a side its own challenge) gains
nothing either, since the accepting side proves itself only after the peer has.
"""

from __future__ import annotations

import hmac
from typing import Final

from wirekit.errors import AuthenticationError, ConfigError

__all__ = [
    "CHALLENGE",
    "FAILURE",
    "MAX_AUTH_FRAME",
    "NONCE_SIZE",
    "WELCOME",
    "challenge",
    "check_authkey",
    "respond",
    "verify",
]

CHALLENGE: Final = b"#CHALLENGE#"
WELCOME: Final = b"#WELCOME#"
FAILURE: Final = b"#FAILURE#"
#: Random bytes in a challenge: CPython 3.12's ``MESSAGE_LENGTH`` (3.11 sent 20).
NONCE_SIZE: Final = 40
#: No handshake frame is longer: ``recv_bytes(256)  # reject large message`` in CPython. A
#: length prefix above it is refused before a byte of its payload is read (SECURITY.md R01).
MAX_AUTH_FRAME: Final = 256
_DIGESTS: Final = frozenset({b"md5", b"sha256", b"sha384", b"sha3_256", b"sha3_384"})
_MAX_DIGEST_NAME: Final = max(len(name) for name in _DIGESTS)
_LEGACY_CHALLENGE: Final = 20  # what Python <= 3.11 sends: 20 random bytes, no prefix
_LEGACY_RESPONSE: Final = 16  # an unprefixed HMAC-MD5


def check_authkey(authkey: object) -> bytes:
    """``authkey`` if it is usable (non-empty bytes), else ConfigError."""
    if not isinstance(authkey, bytes) or not authkey:
        raise ConfigError(f"authkey must be non-empty bytes, not {type(authkey).__name__}")
    return authkey


def challenge(nonce: bytes, digest: str = "sha256") -> bytes:
    """The challenge frame's payload: ``#CHALLENGE#{digest}nonce``. Returns the frame; the
    message to verify against is everything after ``#CHALLENGE#``."""
    if len(nonce) < _LEGACY_CHALLENGE or digest.encode() not in _DIGESTS:
        raise ConfigError("a challenge needs at least 20 random bytes and a known digest")
    return CHALLENGE + b"{%s}" % digest.encode() + nonce


def _split(message: bytes) -> tuple[str, bytes]:
    """The digest a message names and its payload; ``""`` for a legacy (MD5) message."""
    if len(message) in (_LEGACY_CHALLENGE, _LEGACY_RESPONSE):
        return "", message
    if message.startswith(b"{"):
        end = message.find(b"}", 1, _MAX_DIGEST_NAME + 2)
        if end > 0 and message[1:end] in _DIGESTS:
            return message[1:end].decode("ascii"), message[end + 1:]
    raise AuthenticationError("unsupported handshake message: no known {digest} prefix and "
                              "not the legacy length")


def respond(authkey: bytes, frame: bytes, allow_md5: bool = True) -> bytes:
    """Our answer to the peer's challenge ``frame`` (``#CHALLENGE#...``)."""
    if not frame.startswith(CHALLENGE):
        raise AuthenticationError("the peer did not send a challenge")
    message = frame[len(CHALLENGE):]
    if len(message) < _LEGACY_CHALLENGE:
        raise AuthenticationError(f"challenge too short: {len(message)} bytes")
    digest, _ = _split(message)
    if digest in ("", "md5") and not allow_md5:
        raise AuthenticationError("the peer offers only HMAC-MD5 (Python 3.11 or older) and "
                                  "allow_md5 is off")
    if not digest:
        return hmac.new(authkey, message, "md5").digest()
    return b"{%s}" % digest.encode() + hmac.new(authkey, message, digest).digest()


def verify(authkey: bytes, frame: bytes, response: bytes, allow_md5: bool = True) -> None:
    """Check the peer's ``response`` to our challenge ``frame``; AuthenticationError if wrong.

    A legacy peer may answer a prefixed challenge with a bare HMAC-MD5 of all of it, as
    CPython 3.12 accepts; ``allow_md5=False`` refuses that."""
    message = frame[len(CHALLENGE):]
    digest, mac = _split(response)
    digest = digest or "md5"
    if digest == "md5" and not allow_md5:
        raise AuthenticationError("the peer answered with HMAC-MD5 (Python 3.11 or older) "
                                  "and allow_md5 is off")
    expected = hmac.new(authkey, message, digest).digest()
    if not hmac.compare_digest(expected, mac):
        raise AuthenticationError("digest received was wrong")
