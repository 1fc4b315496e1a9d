"""``Headers``: an ordered, case-insensitive, multi-valued view of a field section.

HTTP field names are case-insensitive (RFC 9110 §5.1) and a name may appear on several field
lines (§5.3), so neither a ``dict`` nor a list of pairs is quite right. ``Headers`` keeps the
field lines exactly as they arrived (raw names, order, duplicates) because the WSGI/CGI layer
needs the raw names (it drops names containing ``_``, SECURITY.md H15) and a proxy must forward
fields in order; lookups are case-insensitive.

Values are ``str`` decoded as latin-1, the WSGI convention (PEP 3333 "native strings"): every
byte maps to one code point, so obs-text (0x80-0xFF) survives a round trip unchanged.

``Headers`` is a ``Mapping`` (``keys()``, ``items()``, ``dict(headers)``, ``in``): iterating gives
each name once, ``headers[name]`` the combined value. The field lines themselves, repeats and
raw names included, are :attr:`Headers.fields`; :meth:`get_list` gives one name's values
uncombined (``Set-Cookie`` must never be combined, RFC 6265 §3).

A ``Headers`` is immutable once built, so one instance can be shared by events, the
application and a log line without anyone changing it underneath the others. Validation of
names and values happens where the bytes cross the wire: the parser checks what arrives and
the writer checks what leaves (``wirekit.proto.http.writer``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TypeAlias, TypeVar, overload

__all__ = ["EMPTY_HEADERS", "Headers", "HeadersLike"]

_T = TypeVar("_T")


def _text(item: str | bytes) -> str:
    """Accept ``bytes`` for convenience; HTTP field text is latin-1 (RFC 9110 §5.5 obs-text)."""
    if isinstance(item, str):
        return item
    if isinstance(item, bytes | bytearray):
        return bytes(item).decode("latin-1")
    raise TypeError(f"header names and values must be str or bytes, not {type(item).__name__}")


class Headers(Mapping[str, str]):
    """An immutable, case-insensitive mapping over a list of ``(name, value)`` field lines.

    Iterating yields each field name once (as first sent); ``headers[name]``, :meth:`get`
    and ``items()`` combine repeated fields with ``", "`` as RFC 9110 §5.3 allows for list
    fields. :attr:`fields` is every line as it came, and :meth:`get_list` one name's values
    uncombined, for fields such as ``Set-Cookie`` that must not be joined.
    """

    __slots__ = ("_fields", "_lower")

    def __init__(self, fields: HeadersLike = ()) -> None:
        if isinstance(fields, Headers):
            pairs = fields._fields
        else:
            source = fields.items() if isinstance(fields, Mapping) else fields
            pairs = [(_text(name), _text(value)) for name, value in source]
        self._fields: list[tuple[str, str]] = pairs
        self._lower: list[str] | None = None

    @classmethod
    def _trusted(cls, fields: list[tuple[str, str]]) -> Headers:
        """Wrap a list the parser built and validated; it is not copied, so never reuse it."""
        headers = cls.__new__(cls)
        headers._fields = fields
        headers._lower = None
        return headers

    def _lowered(self) -> list[str]:
        # Built on first lookup only: the server hot path iterates and rarely looks up.
        lower = self._lower
        if lower is None:
            lower = self._lower = [name.lower() for name, _ in self._fields]
        return lower

    def get_list(self, name: str) -> list[str]:
        """Every value of the field lines called ``name``, in order (empty if absent)."""
        key = name.lower()
        fields = self._fields
        return [fields[i][1] for i, lname in enumerate(self._lowered()) if lname == key]

    @overload
    def get(self, name: str, /) -> str | None: ...
    @overload
    def get(self, name: str, /, default: str | _T) -> str | _T: ...
    def get(self, name: str, /, default: object = None) -> object:
        """The combined value of ``name`` (repeated lines joined by ``", "``), or ``default``."""
        values = self.get_list(name)
        if not values:
            return default
        return values[0] if len(values) == 1 else ", ".join(values)

    def get_tokens(self, name: str) -> list[str]:
        """The comma-separated list elements of ``name``, lower-cased, OWS and empties dropped.

        This is how list fields such as ``Connection``, ``Expect`` or ``Transfer-Encoding``
        are compared (RFC 9110 §5.6.1); tokens are case-insensitive where it matters here.
        """
        tokens: list[str] = []
        for value in self.get_list(name):
            tokens.extend(t for t in (p.strip(" \t").lower() for p in value.split(",")) if t)
        return tokens

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lowered()

    @property
    def fields(self) -> Sequence[tuple[str, str]]:
        """Every field line as ``(name, value)``, in order, raw names and repeats kept."""
        return self._fields

    def __iter__(self) -> Iterator[str]:
        """Each name once, in the case it was first sent."""
        seen: set[str] = set()
        for (name, _), lname in zip(self._fields, self._lowered(), strict=True):
            if lname not in seen:
                seen.add(lname)
                yield name

    def __len__(self) -> int:
        """The number of distinct names (``len(headers.fields)`` counts the lines)."""
        return len(set(self._lowered()))

    def __bool__(self) -> bool:
        return bool(self._fields)

    def __eq__(self, other: object) -> bool:
        """Equal when the field lines match in order, names compared case-insensitively."""
        if not isinstance(other, Headers):
            return NotImplemented
        return len(self._fields) == len(other._fields) and all(
            a.lower() == b.lower() and av == bv
            for (a, av), (b, bv) in zip(self._fields, other._fields, strict=True)
        )

    __hash__ = None  # type: ignore[assignment]  # equality is by content; like a list

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"


#: Anything :class:`Headers` accepts: another ``Headers``, a mapping, or ``(name, value)`` pairs.
HeadersLike: TypeAlias = (
    "Headers | Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]]"
)

#: The empty field section, shared (``Headers`` is immutable).
EMPTY_HEADERS = Headers()
