"""The two SASL mechanisms SMTP AUTH needs (RFC 4954): PLAIN (RFC 4616) and LOGIN.

Both send the password itself, only base64-encoded: they are safe over TLS and nowhere else,
which is why the cores offer and send them only after STARTTLS unless told otherwise
(RFC 4954 §4, SECURITY.md M03).

PLAIN is one message, ``authzid NUL authcid NUL password``, usually sent with the command
(the "initial response"). LOGIN (draft-murchison-sasl-login, the one Outlook used) is two
challenges, ``Username:`` and ``Password:``, each answered on a line of its own.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

__all__ = ["LOGIN_CHALLENGES", "MECHANISMS", "b64", "decode_plain", "plain_response", "unb64"]

MECHANISMS: Final = ("PLAIN", "LOGIN")
LOGIN_CHALLENGES: Final = ("VXNlcm5hbWU6", "UGFzc3dvcmQ6")  # "Username:", "Password:"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def unb64(text: str) -> str | None:
    """The UTF-8 text in base64 ``text``; None if it is not strict base64 or not UTF-8."""
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def plain_response(username: str, password: str, authzid: str = "") -> str:
    """PLAIN's message, base64-encoded (RFC 4616 §2)."""
    return b64(f"{authzid}\0{username}\0{password}")


def decode_plain(text: str) -> tuple[str, str, str] | None:
    """``(authzid, username, password)`` from PLAIN's base64 message; None if malformed."""
    decoded = unb64(text)
    if decoded is None:
        return None
    parts = decoded.split("\0")
    if len(parts) != 3 or not parts[1]:
        return None
    return parts[0], parts[1], parts[2]
