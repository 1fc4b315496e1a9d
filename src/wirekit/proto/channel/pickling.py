"""An unpickler that resolves no global outside an allow-list (the pickle documentation's
"Restricting Globals", SECURITY.md R04).

A pickle is a program: ``GLOBAL``/``STACK_GLOBAL`` look up any importable name and ``REDUCE``
calls it, so ``pickle.loads`` of a peer's bytes runs whatever the peer likes (``os.system``,
``subprocess.Popen``, ``builtins.eval``). Every such lookup goes through ``find_class``; this
one answers only for the classes below (plain data types whose construction runs no code a
peer chooses), and for classes a program adds by name. Lists, dicts, strings, numbers, bytes
and tuples need no global at all.
"""

from __future__ import annotations

import io
import pickle
from typing import Any, Final

from wirekit.errors import RemoteProtocolError

__all__ = ["DEFAULT_ALLOWED", "RestrictedUnpickler"]

#: (module, name) pairs every restricted unpickler resolves: the standard library's data types.
DEFAULT_ALLOWED: Final = frozenset({
    ("builtins", "complex"), ("builtins", "set"), ("builtins", "frozenset"),
    ("builtins", "bytearray"), ("builtins", "range"), ("builtins", "slice"),
    ("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"),
    ("datetime", "timedelta"), ("datetime", "timezone"),
    ("decimal", "Decimal"), ("fractions", "Fraction"), ("uuid", "UUID"),
    ("collections", "OrderedDict"), ("collections", "deque"),
})


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` refuses every global not in ``allowed``."""

    def __init__(self, file: Any, allowed: frozenset[tuple[str, str]] = DEFAULT_ALLOWED
                 ) -> None:
        super().__init__(file)
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.allowed:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        return super().find_class(module, name)

    @classmethod
    def loads(cls, data: bytes | bytearray,
              allowed: frozenset[tuple[str, str]] = DEFAULT_ALLOWED) -> Any:
        """Unpickle ``data``; any refusal or malformed pickle is a RemoteProtocolError."""
        try:
            return cls(io.BytesIO(data), allowed).load()
        except pickle.UnpicklingError as exc:
            raise RemoteProtocolError(f"refused pickle: {exc}") from None
        except Exception as exc:  # a truncated or garbage pickle raises many kinds
            raise RemoteProtocolError(f"malformed pickle ({type(exc).__name__}: "
                                      f"{str(exc)[:80]})") from None
