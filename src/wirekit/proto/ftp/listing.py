"""Directory listings as entries: MLSD facts (RFC 3659 §7), or LIST output in the two formats
servers actually send (Unix ``ls -l`` and Windows/IIS "DOS").

MLSD is the one listing with a grammar: ``fact=value;fact=value; name`` per line, times in UTC.
LIST's output is whatever the server's ``ls`` prints (RFC 959 says only "a list"), so it is
parsed for the two common formats and a line that fits neither is skipped rather than guessed
at. A LIST time is in the server's unknown time zone, and a Unix listing omits the year for
recent files; the year is then the one that puts the date in the past (``now`` decides, so
tests pin it), and the datetime is naive to say the zone is unknown.

:class:`ListingParser` cuts lines out of the data connection's bytes without I/O. Lines end in
CRLF or in LF alone (Unix servers send either), and each is bounded (``max_line``): a 10 MB
"line" is an error, not a buffer that grows without end. The number of lines is not bounded,
since a directory may hold a million files: entries stream out as they are parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Final

from wirekit.errors import LocalProtocolError, MessageTooLarge, RemoteProtocolError
from wirekit.proto.buffer import ReceiveBuffer
from wirekit.proto.ftp.values import parse_time

__all__ = ["MAX_LISTING_LINE", "Entry", "ListingParser", "parse_list_line", "parse_mlsd_line"]

#: The longest listing line: a path component is at most 255 octets on common file systems,
#: and MLSD facts add a few hundred more.
MAX_LISTING_LINE: Final = 8192

_MONTHS: Final = {name: i for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_UNIX: Final = re.compile(
    r"([bcdlps-])([rwxsStTL-]{9})[.+@]?\s+\d+\s+(?:\S+\s+)??(?:\S+\s+)??"
    r"(\d+)(?:,\s*\d+)?\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}:\d\d|\d{4})\s(.+)")
_DOS: Final = re.compile(
    r"(\d\d)-(\d\d)-(\d\d(?:\d\d)?)\s+(\d\d?):(\d\d)\s*([AaPp][Mm])?\s+(<DIR>|\d+)\s+(.+)")
_UNIX_TYPES: Final = {"d": "dir", "-": "file", "l": "link"}
# RFC 3659 §7.5.1 types; OS-specific ones ("OS.unix=slink") are links in all but name.
_MLSD_TYPES: Final = {"file": "file", "dir": "dir"}


class _Unparsed:
    """The value of an MLSD entry's ``modified`` until it is first read."""

    __slots__ = ()


_UNPARSED: Final = _Unparsed()


class Entry:
    """One name in a directory.

    ``type`` is ``"file"``, ``"dir"``, ``"link"`` or ``"other"``; ``size`` in octets when the
    server said; ``modified`` is aware (UTC) from MLSD and naive (the server's local time) from
    LIST, ``None`` when the server gave no time or one that is not a date; ``permissions`` is
    what the server showed (MLSD's ``perm`` fact such as ``"adfrw"``, or LIST's
    ``"rwxr-xr-x"``); ``target`` is where a LIST symlink points; ``facts`` holds every MLSD
    fact, lower-cased (``unix.mode``, ``unique``...), with its value as the server wrote it.

    A plain slotted class rather than a dataclass, because a listing makes one per name: from
    MLSD, ``facts`` becomes a dict and the ``modify`` fact a datetime only when first read
    (then kept). Doing both for 1,000 names that nobody looks at was two thirds of the
    parsing and put ``Client.list`` behind ftplib's ``mlsd()``, which returns strings.
    Equality leaves ``facts`` out.
    """

    __slots__ = ("_facts", "_modified", "name", "permissions", "size", "target", "type")

    def __init__(self, name: str, type: str = "file", size: int | None = None,
                 modified: datetime | None = None, permissions: str | None = None,
                 target: str | None = None, facts: dict[str, str] | None = None) -> None:
        self.name = name
        self.type = type
        self.size = size
        self._modified: datetime | _Unparsed | None = modified
        self.permissions = permissions
        self.target = target
        self._facts: dict[str, str] | str = {} if facts is None else facts

    @property
    def modified(self) -> datetime | None:
        value = self._modified
        if isinstance(value, _Unparsed):
            try:
                value = parse_time(self.facts["modify"])
            except (KeyError, RemoteProtocolError):
                value = None  # the server's text stays in facts["modify"]
            self._modified = value
        return value

    @modified.setter
    def modified(self, value: datetime | None) -> None:
        self._modified = value

    @property
    def facts(self) -> dict[str, str]:
        facts = self._facts
        if isinstance(facts, str):  # an MLSD line's facts, not yet split
            facts = self._facts = _split_facts(facts)
        return facts

    @facts.setter
    def facts(self, value: dict[str, str]) -> None:
        self._facts = value

    @property
    def is_dir(self) -> bool:
        return self.type == "dir"

    def _key(self) -> tuple[object, ...]:
        return (self.name, self.type, self.size, self.modified, self.permissions, self.target)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaced

    def __repr__(self) -> str:
        return (f"Entry(name={self.name!r}, type={self.type!r}, size={self.size!r}, "
                f"modified={self.modified!r}, permissions={self.permissions!r}, "
                f"target={self.target!r})")


def _split_facts(text: str) -> dict[str, str]:
    """``type=file;Size=3;`` as ``{"type": "file", "size": "3"}`` (names lower-cased)."""
    facts: dict[str, str] = {}
    for fact in text.split(";"):
        key, eq, value = fact.partition("=")
        if eq:
            facts[key.lower()] = value
    return facts


def parse_mlsd_line(line: str) -> Entry | None:
    """One MLSD line (RFC 3659 §7.2: facts, one space, the name); ``None`` for the ``.`` and
    ``..`` entries (``cdir``/``pdir``), which are not contents.

    Only ``type``, ``size`` and ``perm`` are read here, found in the lower-cased facts (fact
    names and these values are case-insensitive, §7.5); the rest waits for ``Entry.facts``
    and ``Entry.modified`` (a malformed ``modify`` is then ``None``)."""
    facts_text, _, name = line.partition(" ")
    if not name:
        raise RemoteProtocolError(f"malformed MLSD line: {line[:200]!r}")
    # Three finds and slices in C cost less than splitting every fact in Python; the ";"
    # added at the end closes a last fact that lacks its own.
    probe = ";" + facts_text.lower() + ";"
    at = probe.find(";type=") + 6
    kind = probe[at:probe.find(";", at)] if at > 5 else ""
    entry_type = _MLSD_TYPES.get(kind)
    if entry_type is None:
        if kind in ("cdir", "pdir"):
            return None
        entry_type = "link" if kind.endswith("slink") else "other"
    at = probe.find(";size=") + 6
    if at < 6:
        at = probe.find(";sizd=") + 6
    size = probe[at:probe.find(";", at)] if at > 5 else ""
    at = probe.find(";perm=") + 6
    entry = Entry(name, entry_type, int(size) if size.isdigit() else None, None,
                  probe[at:probe.find(";", at)] if at > 5 else None, None)
    entry._facts = facts_text
    if ";modify=" in probe:
        entry._modified = _UNPARSED
    return entry


def parse_list_line(line: str, now: datetime | None = None) -> Entry | None:
    """One line of LIST output in Unix or DOS form; ``None`` for anything else (``total 12``,
    a banner, a format not known here)."""
    if (match := _UNIX.fullmatch(line)) is not None:
        return _unix_entry(match, now)
    if (match := _DOS.fullmatch(line)) is not None:
        return _dos_entry(match)
    return None


def _unix_entry(match: re.Match[str], now: datetime | None) -> Entry | None:
    kind, mode, size, month_name, day, clock, name = match.groups()
    month = _MONTHS.get(month_name.lower())
    if month is None or name in (".", ".."):
        return None
    target = None
    if kind == "l" and " -> " in name:
        name, _, target = name.partition(" -> ")
    try:
        if ":" in clock:  # this year's, unless that is more than a day ahead (time zones)
            now = now or datetime.now(UTC).replace(tzinfo=None)
            hour, minute = (int(part) for part in clock.split(":"))
            modified: datetime | None = _recent(now, month, int(day), hour, minute)
        else:
            modified = datetime(int(clock), month, int(day))
    except ValueError:
        modified = None
    return Entry(name, _UNIX_TYPES.get(kind, "other"), int(size), modified, mode, target)


def _recent(now: datetime, month: int, day: int, hour: int, minute: int) -> datetime:
    """A year-less ``ls`` date: within the last year (Feb 29 picks a leap year)."""
    for year in (now.year, now.year - 1, now.year - 4):
        try:
            when = datetime(year, month, day, hour, minute)
        except ValueError:
            continue
        if when <= now + timedelta(days=1):
            return when
    raise ValueError("no such date")


def _dos_entry(match: re.Match[str]) -> Entry:
    month, day, year_text, hour_text, minute, half, size, name = match.groups()
    year = int(year_text)
    year += (2000 if year < 70 else 1900) if year < 100 else 0
    hour = int(hour_text) % 12 + (12 if half and half.lower() == "pm" else 0) if half \
        else int(hour_text)
    try:
        modified: datetime | None = datetime(year, int(month), int(day), hour, int(minute))
    except ValueError:
        modified = None
    if size == "<DIR>":
        return Entry(name, "dir", None, modified)
    return Entry(name, "file", int(size), modified)


class ListingParser:
    """Cuts a listing's bytes into entries: ``receive_data(chunk)`` (``b""`` at the end of
    the data connection), then ``entries()``. ``mlsd=True`` for MLSD, else LIST formats."""

    __slots__ = ("_buffer", "_eof", "encoding", "max_line", "mlsd", "now")

    def __init__(self, *, mlsd: bool, encoding: str = "utf-8",
                 max_line: int = MAX_LISTING_LINE, now: datetime | None = None) -> None:
        self.mlsd, self.encoding, self.max_line, self.now = mlsd, encoding, max_line, now
        self._buffer = ReceiveBuffer()
        self._eof = False

    def receive_data(self, data: bytes) -> None:
        if data:
            if self._eof:
                raise LocalProtocolError("listing bytes received after its end")
            self._buffer.feed(data)
        else:
            self._eof = True

    def entries(self) -> Iterator[Entry]:
        """Every entry whose line is complete (and, after the end, the unterminated last)."""
        data = self._buffer.data
        end = data.rfind(b"\n") + 1
        if len(data) - end > self.max_line + 1:  # CR included
            raise MessageTooLarge(f"a listing line is longer than {self.max_line} octets",
                                  limit="max_line")
        if self._eof:
            end = len(data)
        if not end:
            return
        # All the complete lines at once: one split, one scan and one decode in C beat a
        # search per line. Names are bytes on the server; surrogateescape keeps those that
        # are not UTF-8 intact, so the same name can be sent back in a RETR or DELE.
        block = bytes(data[:end])
        del data[:end]
        if max(map(len, block.split(b"\n"))) > self.max_line + 1:
            raise MessageTooLarge(f"a listing line is longer than {self.max_line} octets",
                                  limit="max_line")
        lines = block.decode(self.encoding, "surrogateescape").split("\n")
        if self.mlsd:
            for line in lines:
                if line and line != "\r":
                    entry = parse_mlsd_line(line.removesuffix("\r"))
                    if entry is not None:
                        yield entry
        else:
            now = self.now
            for line in lines:
                if line.strip():
                    entry = parse_list_line(line.removesuffix("\r"), now)
                    if entry is not None:
                        yield entry
