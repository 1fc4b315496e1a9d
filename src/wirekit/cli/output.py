"""What ``wirekit get/post/http`` print: exact bytes into a pipe, something readable on a screen.

Piped (not a terminal, or ``--no-pretty``) the response head and body are written byte for
byte, so ``wirekit get URL > file`` and ``| sha256sum`` see what the server sent. On a terminal
(``--pretty``, the default there) the output is for a person, as httpie does it: the head in
colour, JSON indented and highlighted, text decoded by its charset, and binary content replaced
by a one-line note instead of garbling the terminal. Control characters from the server (ESC,
which drives the terminal, among them) are shown escaped as ``\\x1b``, never obeyed.

``rich`` is imported only on the pretty path, so a piped run starts as fast as before. Progress
bars are in :mod:`wirekit.cli.progress`.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Final

from wirekit.http.client import Response

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["PrettyPrinter", "body_kind", "field_lines", "head_bytes",
           "response_verbose", "safe_text", "verbose_lines"]

#: JSON held to be re-indented on a terminal; a larger body is shown as text as it streams.
MAX_PRETTY_JSON: Final = 8 * 1024 * 1024
_BINARY_TYPES: Final = frozenset({
    "application/octet-stream", "application/zip", "application/gzip", "application/pdf",
    "application/x-tar", "application/wasm", "application/x-bzip2", "application/x-xz",
    "application/zstd", "application/vnd.ms-excel", "application/msword",
})  # fmt: skip
_BINARY_MAJOR: Final = frozenset({"image", "audio", "video", "font"})
# C0 controls but TAB and LF, DEL, and C1 (0x9b is CSI to some terminals).
_UNSAFE: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def field_lines(response: Response) -> list[tuple[str, str]]:
    """The response's field lines as received (name case, order and repeats kept)."""
    return list(response.headers.fields)


def _status_line(response: Response) -> str:
    return f"HTTP/{response.http_version} {response.status} {response.reason}"


def head_bytes(response: Response) -> bytes:
    """Status line and fields as on the wire, with the blank line (``-i`` into a pipe)."""
    lines = [_status_line(response), *(f"{n}: {v}" for n, v in field_lines(response))]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


def verbose_lines(prefix: str, first: str, fields: Iterable[tuple[str, str]]) -> str:
    """A head as curl ``-v`` shows it: each line after ``> `` or ``< ``, then a bare prefix."""
    lines = [first, *(f"{n}: {v}" for n, v in fields), ""]
    return "".join(f"{prefix} {line}".rstrip(" ") + "\n" for line in lines)


def response_verbose(response: Response) -> str:
    """``< `` lines of a response head, for ``-v``."""
    return verbose_lines("<", _status_line(response), field_lines(response))


def safe_text(text: str) -> str:
    """``text`` with terminal control characters shown as ``\\xNN`` (CRLF becomes LF)."""
    text = text.replace("\r\n", "\n")
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def body_kind(content_type: str, first: bytes) -> str:
    """``"json"``, ``"text"`` or ``"binary"``: how a body is shown on a terminal. NUL bytes
    or undecodable UTF-8 in the first piece mean binary whatever the type says (httpie)."""
    mime = content_type.partition(";")[0].strip().lower()
    major, _, minor = mime.partition("/")
    if major in _BINARY_MAJOR or mime in _BINARY_TYPES or b"\0" in first[:4096]:
        return "binary"
    if minor == "json" or minor.endswith("+json"):
        return "json"
    if "charset=" not in content_type.lower() and major != "text":
        try:
            codecs.getincrementaldecoder("utf-8")().decode(first[:4096])
        except UnicodeDecodeError:
            return "binary"
    return "text"


class PrettyPrinter:
    """Response heads and bodies for a person at a terminal, through a rich ``Console``."""

    def __init__(self, console: Console | None = None) -> None:
        if console is None:
            from rich.console import Console

            console = Console(highlight=False, soft_wrap=True)
        self.console = console

    def head(self, response: Response) -> None:
        """The status line and fields, in colour, then a blank line."""
        from rich.text import Text

        colour = {2: "green", 3: "yellow", 4: "red", 5: "bold red"}.get(response.status // 100,
                                                                       "default")
        text = Text()
        text.append(f"HTTP/{response.http_version} ", style="blue")
        text.append(f"{response.status} {safe_text(response.reason)}", style=f"bold {colour}")
        for name, value in field_lines(response):
            text.append("\n")
            text.append(safe_text(name), style="cyan")
            text.append(": " + safe_text(value))
        self.console.print(text, soft_wrap=True, highlight=False)
        self.console.print()

    def body(self, response: Response) -> None:
        """JSON indented and coloured, text decoded, binary replaced by a note."""
        pieces = response.iter_bytes()
        first = next(pieces, b"")
        if not first:
            return
        kind = body_kind(response.headers.get("content-type", ""), first)
        if kind == "binary":
            response.close()  # no point in downloading what will not be shown
            self._note(response)
            return
        if kind == "json" and self._json(response, first, pieces):
            return
        self._text(response, _chain(first, pieces=pieces))

    def _json(self, response: Response, first: bytes, pieces: Iterator[bytes]) -> bool:
        from rich.highlighter import JSONHighlighter
        from rich.text import Text

        held, size = [first], len(first)
        for piece in pieces:
            held.append(piece)
            size += len(piece)
            if size > MAX_PRETTY_JSON:
                self._text(response, _chain(*held, pieces=pieces))
                return True
        raw = b"".join(held)
        try:
            data = json.loads(raw.decode(response.encoding, errors="strict"))
        except (ValueError, LookupError):
            self._text(response, iter((raw,)))
            return True
        text = safe_text(json.dumps(data, indent=4, ensure_ascii=False))
        self.console.print(JSONHighlighter()(Text(text)), soft_wrap=True)
        return True

    def _text(self, response: Response, pieces: Iterator[bytes]) -> None:
        try:
            decoder = codecs.getincrementaldecoder(response.encoding)(errors="replace")
        except LookupError:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        carry, ended_in_newline = "", True
        for piece in pieces:
            text = carry + decoder.decode(piece)
            text, carry = (text[:-1], "\r") if text.endswith("\r") else (text, "")
            if text:
                self.console.out(safe_text(text), end="", highlight=False)
                ended_in_newline = text.endswith("\n")
        tail = carry + decoder.decode(b"", final=True)
        if tail:
            self.console.out(safe_text(tail), end="", highlight=False)
            ended_in_newline = tail.endswith("\n")
        if not ended_in_newline:
            self.console.out("")  # the prompt starts on its own line, as httpie does

    def _note(self, response: Response) -> None:
        size = response.headers.get("content-length")
        what = response.headers.get("content-type", "binary data").partition(";")[0]
        amount = f"{size} bytes of " if size and size.isdigit() else ""
        self.console.print(f"[binary data not shown: {amount}{safe_text(what)}; "
                           "save it with -o FILE or pipe it]", style="dim", markup=False,
                           highlight=False, soft_wrap=True)


def _chain(*held: bytes, pieces: Iterator[bytes] | None = None) -> Iterator[bytes]:
    yield from held
    if pieces is not None:
        yield from pieces
