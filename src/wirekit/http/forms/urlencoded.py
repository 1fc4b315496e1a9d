"""Query strings and ``application/x-www-form-urlencoded`` bodies, parsed as they stream in.

The separator is ``&`` and only ``&`` (WHATWG URL "application/x-www-form-urlencoded
parsing"): ``a=1;b=2`` is one field ``a`` with the value ``1;b=2``. Splitting on ``;`` as well
let a cache and an application disagree about which parameters a URL has, the web cache
poisoning of CVE-2021-23336 (SECURITY.md P03). The byte-level split is python-multipart's
``QuerystringParser``; names and values are collected here under a :class:`FormBudget`.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from python_multipart import QuerystringParser

from wirekit.http.forms.fields import FormData, FormField
from wirekit.http.forms.limits import DEFAULT_FORM_LIMITS, FormBudget, FormLimits, FormTooLarge

__all__ = ["UrlencodedParser", "decode_component", "parse_query", "query_fields"]


def decode_component(raw: bytes, encoding: str, errors: str) -> str:
    """``+`` to space, then percent-decoding, then text (HTML's urlencoded decoding)."""
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode(encoding, errors)


class UrlencodedParser:
    """Feed urlencoded bytes in any split; collect :class:`FormField` objects in ``fields``."""

    def __init__(self, budget: FormBudget, encoding: str = "utf-8", errors: str = "replace"):
        self.fields: list[FormField] = []
        self._budget = budget
        self._encoding = encoding
        self._errors = errors
        self._name = bytearray()
        self._value = bytearray()
        self._parser = QuerystringParser(
            {
                "on_field_start": self._start,
                "on_field_name": self._on_name,
                "on_field_data": self._on_value,
                "on_field_end": self._end,
            }
        )

    def _start(self) -> None:
        self._budget.add_field()
        self._name.clear()
        self._value.clear()

    def _grow(self, target: bytearray, data: bytes, start: int, end: int) -> None:
        target += data[start:end]
        self._budget.add_memory(end - start, len(self._name) + len(self._value))

    def _on_name(self, data: bytes, start: int, end: int) -> None:
        self._grow(self._name, data, start, end)

    def _on_value(self, data: bytes, start: int, end: int) -> None:
        self._grow(self._value, data, start, end)

    def _end(self) -> None:
        name = decode_component(bytes(self._name), self._encoding, self._errors)
        value = decode_component(bytes(self._value), self._encoding, self._errors)
        self.fields.append(FormField(name, value))

    def feed(self, data: bytes) -> None:
        """Parse the next piece of the body."""
        self._parser.write(data)

    def close(self) -> list[FormField]:
        """End of input: finish the last field and return them all."""
        self._parser.finalize()
        return self.fields


def query_fields(
    query: str | bytes,
    budget: FormBudget,
    encoding: str = "utf-8",
    errors: str = "replace",
) -> list[FormField]:
    """The fields of a query string (``QUERY_STRING``: WSGI gives it as latin-1 text)."""
    if isinstance(query, str):
        # WSGI "bytes as latin-1"; a caller's str with other characters is taken as UTF-8.
        try:
            raw = query.encode("latin-1")
        except UnicodeEncodeError:
            raw = query.encode("utf-8", "surrogateescape")
    else:
        raw = query
    if len(raw) > budget.limits.max_query:
        raise FormTooLarge(f"query string longer than {budget.limits.max_query} bytes",
                           "max_query", status=414)
    parser = UrlencodedParser(budget, encoding, errors)
    if raw:
        parser.feed(raw)
    return parser.close()


def parse_query(
    query: str | bytes,
    limits: FormLimits | None = None,
    *,
    encoding: str = "utf-8",
    errors: str = "replace",
) -> FormData:
    """Parse a query string on its own (``"a=1&b=2"``); ``;`` is not a separator."""
    budget = FormBudget(limits if limits is not None else DEFAULT_FORM_LIMITS)
    return FormData(query_fields(query, budget, encoding, errors))
