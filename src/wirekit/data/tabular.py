"""CSV (slide 3-3): read and write with the right quoting, sniff dialects, type the columns.

The course's ``schmods.csv`` has commas inside quoted fields; :mod:`csv` gets that right, and
these helpers add what a network client also needs: one call for a path, a text, a binary
file or a streamed response; header rows to dicts with per-column conversion; errors that say
which line; bounds on line length; and a writer that can defuse spreadsheet formulas.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import chain
from typing import IO, Any

from wirekit.config import DEFAULT_LIMITS
from wirekit.data.errors import ParseError
from wirekit.data.sources import Source, open_text
from wirekit.errors import ConfigError, MessageTooLarge

__all__ = ["parse_records", "parse_rows", "read_records", "read_rows", "sniff", "to_csv",
           "write_records", "write_rows"]

Dialect = str | csv.Dialect | type[csv.Dialect]
# Bytes read to guess a dialect: enough rows for csv.Sniffer to see the pattern.
SNIFF_SIZE = 64 * 1024
# Cells a spreadsheet would run as a formula (CWE-1236, OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def sniff(sample: str, delimiters: str | None = None) -> tuple[type[csv.Dialect], bool]:
    """Guess the dialect of a CSV sample and whether its first row is a header."""
    sniffer = csv.Sniffer()
    try:
        dialect = sniffer.sniff(sample, delimiters)
    except csv.Error as exc:
        raise ParseError(f"cannot guess the CSV dialect: {exc}") from None
    try:
        header = sniffer.has_header(sample)
    except csv.Error:
        header = False
    return dialect, header


def _lines(stream: IO[str], max_line: int) -> Iterator[str]:
    """Lines of ``stream``, each bounded, refusing NUL (binary data, not text: SECURITY P01)."""
    number = 0
    while line := _readline(stream, max_line + 1, number + 1):
        number += 1
        if len(line) > max_line and not line.endswith(("\n", "\r")):
            raise MessageTooLarge(f"CSV line {number} is longer than {max_line} characters",
                                  limit="max_line")
        if "\0" in line:
            raise ParseError("NUL character in CSV data (binary data?)", line=number)
        yield line


def _readline(stream: IO[str], limit: int, number: int) -> str:
    try:
        return stream.readline(limit)
    except UnicodeDecodeError as exc:
        raise ParseError(f"CSV is not valid {exc.encoding} text ({exc.reason})",
                         line=number) from None


def _dialect_and_lines(stream: IO[str], dialect: Dialect, max_line: int
                       ) -> tuple[Dialect, Iterator[str]]:
    lines = _lines(stream, max_line)
    if dialect != "sniff":
        return dialect, lines
    head: list[str] = []
    size = 0
    for line in lines:  # whole lines only, so no row is cut where the sample ends
        head.append(line)
        size += len(line)
        if size >= SNIFF_SIZE:
            break
    found, _ = sniff("".join(head))
    return found, chain(head, lines)


def _rows(stream: IO[str], dialect: Dialect, max_line: int) -> Iterator[list[str]]:
    chosen, lines = _dialect_and_lines(stream, dialect, max_line)
    try:
        reader = csv.reader(lines, chosen, strict=True)
    except (TypeError, csv.Error) as exc:
        raise ConfigError(f"bad CSV dialect {dialect!r}: {exc}") from None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise MessageTooLarge(f"CSV field larger than {csv.field_size_limit()} characters"
                                      f" (line {reader.line_num})",
                                      limit="csv.field_size_limit") from None
            raise ParseError(f"malformed CSV: {exc}", line=reader.line_num) from None
        yield row


def read_rows(source: Source | IO[str], *, dialect: Dialect = "excel",
              encoding: str = "utf-8-sig", max_line: int = DEFAULT_LIMITS.max_message
              ) -> Iterator[list[str]]:
    """Yield each row as a list of strings, streaming ``source``.

    ``source`` is a path, a text or binary file, an HTTP response or an iterable of bytes.
    ``dialect`` is a :mod:`csv` dialect or its name, or ``"sniff"`` to guess from the start.
    Quoting is strict: a stray quote is a ParseError, not silently merged text.
    """
    with open_text(source, encoding) as stream:
        yield from _rows(stream, dialect, max_line)


def parse_rows(text: str, *, dialect: Dialect = "excel") -> list[list[str]]:
    """All rows of CSV held in a string."""
    return list(read_rows(io.StringIO(text, newline=""), dialect=dialect))


def _convert(record: dict[str, Any], types: Mapping[str, Callable[[str], Any]], line: int
             ) -> None:
    for name, convert in types.items():
        value = record.get(name)
        if value is None or value == "":
            record[name] = None  # an empty cell has no value to convert
            continue
        try:
            record[name] = convert(value)
        except (TypeError, ValueError) as exc:
            raise ParseError(f"column {name!r}: cannot convert {value!r}: {exc}",
                             line=line) from None


def _records(rows: Iterator[list[str]], fieldnames: Sequence[str] | None,
             types: Mapping[str, Callable[[str], Any]] | None) -> Iterator[dict[str, Any]]:
    names = list(fieldnames) if fieldnames is not None else next(rows, None)
    if names is None:
        return
    unknown = set(types or ()) - set(names)
    if unknown:
        raise ConfigError(f"types given for columns not in the header: {sorted(unknown)}")
    for number, row in enumerate(rows, 2 if fieldnames is None else 1):
        if len(row) > len(names):
            raise ParseError(f"row has {len(row)} fields, the header {len(names)}", line=number)
        record: dict[str, Any] = dict(zip(names, row, strict=False))
        for name in names[len(row):]:
            record[name] = None  # a short row: spreadsheets drop trailing empty cells
        if types:
            _convert(record, types, number)
        yield record


def read_records(source: Source | IO[str], *, fieldnames: Sequence[str] | None = None,
                 types: Mapping[str, Callable[[str], Any]] | None = None,
                 dialect: Dialect = "excel", encoding: str = "utf-8-sig",
                 max_line: int = DEFAULT_LIMITS.max_message) -> Iterator[dict[str, Any]]:
    """Yield each row as a dict keyed by the header row (or ``fieldnames``).

    ``types`` maps column names to converters (``{"price": float, "qty": int}``); an empty
    cell becomes None, a cell that does not convert is a ParseError naming row and column.
    ``line`` in errors counts records (header = 1), not physical lines.
    """
    with open_text(source, encoding) as stream:
        yield from _records(_rows(stream, dialect, max_line), fieldnames, types)


def parse_records(text: str, *, fieldnames: Sequence[str] | None = None,
                  types: Mapping[str, Callable[[str], Any]] | None = None,
                  dialect: Dialect = "excel") -> list[dict[str, Any]]:
    """All records of CSV held in a string (see :func:`read_records`)."""
    return list(read_records(io.StringIO(text, newline=""), fieldnames=fieldnames,
                             types=types, dialect=dialect))


def _cell(value: Any, safe: bool) -> Any:
    if value is None:
        return ""
    if safe and isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value  # shown as text by spreadsheets, not run as a formula
    return value


def write_rows(file: str | os.PathLike[str] | IO[str], rows: Iterable[Sequence[Any]], *,
               header: Sequence[str] | None = None, dialect: Dialect = "excel",
               safe: bool = False) -> int:
    """Write rows (quoting only where needed) to a path or text file; return rows written.

    ``safe=True`` prefixes cells that start like a formula with ``'``, for files meant to be
    opened in a spreadsheet.
    """
    if isinstance(file, str | os.PathLike):
        with open(file, "w", encoding="utf-8", newline="") as handle:
            return write_rows(handle, rows, header=header, dialect=dialect, safe=safe)
    writer = csv.writer(file, dialect)
    if header is not None:
        writer.writerow([_cell(name, safe) for name in header])
    count = 0
    for count, row in enumerate(rows, 1):  # noqa: B007 (count is the result)
        writer.writerow([_cell(value, safe) for value in row])
    return count


def write_records(file: str | os.PathLike[str] | IO[str], records: Iterable[Mapping[str, Any]],
                  *, fieldnames: Sequence[str], dialect: Dialect = "excel",
                  safe: bool = False) -> int:
    """Write dicts under a header row of ``fieldnames``; a missing key is an empty cell."""
    rows = ([record.get(name) for name in fieldnames] for record in records)
    return write_rows(file, rows, header=fieldnames, dialect=dialect, safe=safe)


def to_csv(rows: Iterable[Sequence[Any]], *, header: Sequence[str] | None = None,
           dialect: Dialect = "excel", safe: bool = False) -> str:
    """Rows as CSV text (``\\r\\n`` line ends, as RFC 4180 and the ``excel`` dialect say)."""
    out = io.StringIO(newline="")
    write_rows(out, rows, header=header, dialect=dialect, safe=safe)
    return out.getvalue()
