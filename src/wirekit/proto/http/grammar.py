"""The ABNF pieces of RFC 9110 that several parts of the core match, written once."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["TCHAR", "TOKEN"]

#: tchar (RFC 9110 §5.6.2), as a regular-expression character class.
TCHAR: Final = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
#: token = 1*tchar: field names, methods, transfer codings, auth schemes.
TOKEN: Final = re.compile(TCHAR + "+")
