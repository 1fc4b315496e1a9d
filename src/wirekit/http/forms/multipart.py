"""``multipart/form-data`` (RFC 7578), parsed as it streams in, uploads spooled to disk.

python-multipart finds the boundaries and the part headers; this module decides what a part
is (RFC 7578 §4.2: every part has ``Content-Disposition: form-data; name=...``, and a
``filename`` parameter makes it a file), where its bytes go (memory for a field, a
``SpooledTemporaryFile`` for an upload, which moves to an anonymous file on disk past
``spool_threshold``) and when a limit is hit. Memory use stays flat whatever the upload size:
the body is fed in bounded chunks and each chunk is written straight to its part.
"""

from __future__ import annotations

import tempfile
from typing import IO

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from wirekit.http.forms.fields import FormField
from wirekit.http.forms.limits import FormBudget, FormError, FormTooLarge
from wirekit.proto.http import Headers

__all__ = ["MultipartFormParser", "boundary_of"]

# RFC 2046 §5.1.1: 1 to 70 characters.
_MAX_BOUNDARY = 70
_MAX_PART_HEADERS = 64
# HTML's multipart encoding escapes these three in names and file names (WHATWG HTML
# "multipart/form-data encoding algorithm"); undo that, and nothing else.
_HTML_ESCAPES = (("%22", '"'), ("%0D", "\r"), ("%0A", "\n"))


def boundary_of(content_type: str) -> bytes:
    """The ``boundary`` parameter of a ``multipart/form-data`` Content-Type, checked."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary", b"")
    if not 0 < len(boundary) <= _MAX_BOUNDARY or any(b < 0x20 or b > 0x7E for b in boundary):
        raise FormError("multipart/form-data without a valid boundary parameter")
    return boundary


def _param_text(raw: bytes) -> str:
    """A Content-Disposition parameter: browsers send UTF-8 bytes in a quoted string."""
    text = raw.decode("utf-8", "replace")
    for escaped, char in _HTML_ESCAPES:
        text = text.replace(escaped, char)
    return text


class _Part:
    """The part being received: its headers, then its content (memory or spool file)."""

    __slots__ = ("content_type", "filename", "header_name", "header_size", "header_value",
                 "headers", "memory", "name", "size", "spool")

    def __init__(self) -> None:
        self.headers: list[tuple[str, str]] = []
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.header_size = 0
        self.name = ""
        self.filename: str | None = None
        self.content_type: str | None = None
        self.memory = bytearray()
        self.spool: IO[bytes] | None = None
        self.size = 0


class MultipartFormParser:
    """Feed a multipart body in any split; :meth:`close` returns its :class:`FormField` list.

    Call :meth:`abort` instead when parsing stops early, so spooled files are not left open.
    """

    def __init__(
        self,
        boundary: bytes,
        budget: FormBudget,
        encoding: str = "utf-8",
        errors: str = "replace",
        upload_dir: str | None = None,
    ) -> None:
        self.fields: list[FormField] = []
        self._budget = budget
        self._limits = budget.limits
        self._encoding = encoding
        self._errors = errors
        self._upload_dir = upload_dir
        self._part: _Part | None = None
        self._ended = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
            # Our own per-part bound (max_part_header) is the one that should trip first.
            max_header_count=_MAX_PART_HEADERS,
            max_header_size=2 * self._limits.max_part_header,
        )

    # -- callbacks from python-multipart ---------------------------------------------------
    def _part_begin(self) -> None:
        self._budget.add_field()
        self._part = _Part()

    def _header_bytes(self, target: bytearray, data: bytes, start: int, end: int) -> None:
        part = self._current()
        part.header_size += end - start
        if part.header_size > self._limits.max_part_header:
            raise FormTooLarge(
                f"a multipart part's headers are longer than {self._limits.max_part_header} "
                "bytes", "max_part_header")
        target += data[start:end]

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_bytes(self._current().header_name, data, start, end)

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_bytes(self._current().header_value, data, start, end)

    def _header_end(self) -> None:
        part = self._current()
        part.headers.append((part.header_name.decode("latin-1"),
                             part.header_value.decode("latin-1").strip(" \t")))
        part.header_name.clear()
        part.header_value.clear()

    def _headers_finished(self) -> None:
        part = self._current()
        headers = Headers(part.headers)
        disposition = headers.get("content-disposition")
        if disposition is None:
            raise FormError("a multipart part has no Content-Disposition (RFC 7578 §4.2)")
        kind, params = parse_options_header(disposition)
        if kind != b"form-data" or b"name" not in params:
            raise FormError("a multipart part is not 'form-data' with a name (RFC 7578 §4.2)")
        part.name = _param_text(params[b"name"])
        if b"filename" in params:
            part.filename = _param_text(params[b"filename"])
            self._budget.add_file()
            part.spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - handed to FormField
                max_size=self._limits.spool_threshold, dir=self._upload_dir)
        part.content_type = headers.get("content-type")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._current()
        part.size += end - start
        if part.spool is not None:
            part.spool.write(data[start:end])
        else:
            part.memory += data[start:end]
            self._budget.add_memory(end - start, part.size)

    def _part_end(self) -> None:
        part = self._current()
        self._part = None
        headers = Headers(part.headers)
        if part.spool is not None:
            self.fields.append(FormField(part.name, file=part.spool, filename=part.filename,
                                         content_type=part.content_type, headers=headers,
                                         size=part.size))
            return
        raw = bytes(part.memory)
        charset = self._encoding
        if part.content_type:
            charset = parse_options_header(part.content_type)[1].get(
                b"charset", charset.encode()).decode("latin-1")
        try:
            text = raw.decode(charset, self._errors)
        except LookupError:  # an unknown charset named by the client
            text = raw.decode(self._encoding, self._errors)
        self.fields.append(FormField(part.name, text, raw=raw, content_type=part.content_type,
                                     headers=headers, size=part.size))

    def _end(self) -> None:
        self._ended = True

    def _current(self) -> _Part:
        if self._part is None:  # python-multipart calls part callbacks only inside a part
            raise FormError("malformed multipart body")
        return self._part

    # -- driving ---------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Parse the next piece of the body."""
        try:
            self._parser.write(data)
        except FormParserError as exc:
            raise FormError(f"malformed multipart body: {exc}") from None

    def close(self) -> list[FormField]:
        """End of input: the closing boundary must have been seen."""
        if not self._ended:
            raise FormError("multipart body ends before its closing boundary")
        return self.fields

    def abort(self) -> None:
        """Parsing stopped early: close every spool file created so far."""
        for field in self.fields:
            field.close()
        if self._part is not None and self._part.spool is not None:
            self._part.spool.close()
        self._part = None
