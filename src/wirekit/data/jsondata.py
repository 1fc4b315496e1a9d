"""JSON documents and JSON Lines feeds (slides 3-29..3-31), strict and bounded.

``json.loads`` as it stands accepts ``NaN`` and ``Infinity`` (not JSON), reads any size, and
answers deep nesting with ``RecursionError`` and long integers with a bare ``ValueError``
(SECURITY.md P01). These helpers refuse the constants unless asked, bound the input, and turn
every failure into :class:`~wirekit.data.errors.ParseError` with the line and column.

JSON Lines (one document per line, https://jsonlines.org) is how large feeds stream:
:func:`iter_jsonlines` reads one bounded line at a time, so memory stays flat.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from typing import IO, Any

from wirekit.config import DEFAULT_LIMITS
from wirekit.data.errors import ParseError
from wirekit.data.sources import Source, open_binary, read_capped
from wirekit.errors import ConfigError, MessageTooLarge

__all__ = ["dump", "dump_jsonlines", "dumps", "iter_jsonlines", "load", "loads"]


def _refuse_constant(name: str) -> Any:
    raise ParseError(f"{name} is not JSON (pass allow_nan=True to accept it)")


def _decode(text: str | bytes, allow_nan: bool, line: int | None = None) -> Any:
    try:
        if allow_nan:
            return json.loads(text)
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ParseError(f"malformed JSON: {exc.msg}", line=line or exc.lineno,
                         column=exc.colno) from None
    except ParseError:
        raise  # a refused constant, already said
    except RecursionError:
        raise ParseError("malformed JSON: nested too deeply", line=line) from None
    except UnicodeDecodeError as exc:
        raise ParseError(f"malformed JSON: not valid text ({exc.reason})", line=line) from None
    except ValueError as exc:  # e.g. an integer over sys.int_info.default_max_str_digits
        raise ParseError(f"malformed JSON: {exc}", line=line) from None


def loads(text: str | bytes, *, allow_nan: bool = False,
          max_bytes: int | None = DEFAULT_LIMITS.max_body) -> Any:
    """Decode one JSON document held in memory (``bytes`` may be UTF-8, -16 or -32)."""
    if not isinstance(text, str | bytes | bytearray):
        raise ConfigError(f"loads() takes str or bytes, not {type(text).__name__}")
    if max_bytes is not None and len(text) > max_bytes:
        raise MessageTooLarge(f"JSON document larger than {max_bytes} bytes", limit="max_bytes")
    return _decode(text, allow_nan)


def load(source: Source, *, allow_nan: bool = False,
         max_bytes: int | None = DEFAULT_LIMITS.max_body) -> Any:
    """Decode the JSON document in ``source`` (path, binary file, response or chunks)."""
    return _decode(read_capped(source, max_bytes, "JSON document"), allow_nan)


def dumps(obj: Any, *, pretty: bool = False, sort_keys: bool = False,
          allow_nan: bool = False) -> str:
    """Encode ``obj`` as JSON text; ``pretty`` indents by two spaces, one key per line."""
    try:
        return json.dumps(obj, indent=2 if pretty else None, sort_keys=sort_keys,
                          allow_nan=allow_nan, ensure_ascii=False,
                          separators=None if pretty else (",", ":"))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"cannot encode as JSON: {exc}") from None


def dump(obj: Any, file: str | os.PathLike[str] | IO[str], *, pretty: bool = False,
         sort_keys: bool = False, allow_nan: bool = False) -> None:
    """Write ``obj`` as JSON (UTF-8, ending in a newline) to a path or text file."""
    text = dumps(obj, pretty=pretty, sort_keys=sort_keys, allow_nan=allow_nan) + "\n"
    if isinstance(file, str | os.PathLike):
        with open(file, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        file.write(text)


def iter_jsonlines(source: Source, *, allow_nan: bool = False,
                   max_line: int = DEFAULT_LIMITS.max_message) -> Iterator[Any]:
    """Yield each document of a JSON Lines feed, reading one line (at most ``max_line``) at once.

    Blank lines are skipped; a line that is not JSON raises ParseError naming its line number.
    """
    with open_binary(source) as stream:
        number = 0
        while line := stream.readline(max_line + 1):
            number += 1
            if len(line) > max_line and not line.endswith(b"\n"):
                raise MessageTooLarge(f"JSON Lines line {number} is longer than {max_line}"
                                      " bytes", limit="max_line")
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]  # a UTF-8 byte-order mark some writers put first
            if line.strip():
                yield _decode(line, allow_nan, line=number)


def dump_jsonlines(objects: Iterable[Any], file: str | os.PathLike[str] | IO[str], *,
                   allow_nan: bool = False) -> int:
    """Write each object on its own line (compact, UTF-8); return how many were written."""
    if isinstance(file, str | os.PathLike):
        with open(file, "w", encoding="utf-8") as handle:
            return dump_jsonlines(objects, handle, allow_nan=allow_nan)
    count = 0
    for count, obj in enumerate(objects, 1):  # noqa: B007 (count is the result)
        file.write(dumps(obj, allow_nan=allow_nan) + "\n")
    return count
