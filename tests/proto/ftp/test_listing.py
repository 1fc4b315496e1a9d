"""Listings, pure tier: MLSD facts and LIST in Unix and DOS forms, each listing fed whole, byte
by byte, at random splits and at every CR/LF; the line bound."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wirekit.errors import MessageTooLarge, RemoteProtocolError
from wirekit.proto.ftp import Entry, ListingParser, parse_list_line, parse_mlsd_line
from wirekit.testing import FEEDS

NOW = datetime(2024, 6, 15, 12, 0)


def parse(data: bytes, split, *, mlsd: bool, **options) -> list[Entry]:
    parser = ListingParser(mlsd=mlsd, now=NOW, **options)
    out: list[Entry] = []
    for piece in split(data):
        parser.receive_data(piece)
        out.extend(parser.entries())
    parser.receive_data(b"")
    out.extend(parser.entries())
    return out


MLSD = (b"type=cdir;perm=flcdmpe;modify=20240101000000; .\r\n"
        b"type=pdir;perm=flcdmpe;modify=20240101000000; ..\r\n"
        b"type=file;size=1024;modify=20240131120000;perm=adfrw; notes.txt\r\n"
        b"type=dir;modify=20231225080910.5;perm=flcdmpe;UNIX.mode=0755; my dir\r\n"
        b"Type=OS.unix=slink;Size=10;Modify=20240102030405; link\r\n"
        b"type=file;size=0; caf\xc3\xa9 with  two spaces\r\n")


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_mlsd(feed):
    entries = parse(MLSD, FEEDS[feed], mlsd=True)
    assert entries == [
        Entry("notes.txt", "file", 1024, datetime(2024, 1, 31, 12, tzinfo=UTC), "adfrw"),
        Entry("my dir", "dir", None, datetime(2023, 12, 25, 8, 9, 10, 500000, tzinfo=UTC),
              "flcdmpe"),
        Entry("link", "link", 10, datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        Entry("café with  two spaces", "file", 0),
    ]
    assert entries[1].facts["unix.mode"] == "0755" and entries[1].is_dir


UNIX = (b"total 12\r\n"
        b"drwxr-xr-x   2 ftp      ftp          4096 Jan 02 03:04 pub\r\n"
        b"-rw-r--r--   1 1000     1000      1048576 Dec 31  2019 old.tar.gz\r\n"
        b"-rw-r--r--   1 owner    group         12 Jun 17 23:59 future is last year\n"
        b"lrwxrwxrwx   1 root     root            7 Feb 29 10:00 latest -> pub/v2\r\n"
        b"-rw-r--r--+  1 user           3 Mar  1 10:00 no group column\r\n"
        b"crw-rw-rw-   1 root     root       1,   3 Jan  1  2020 null\r\n"
        b"-rw-r--r--   1 u g 5 Jan  1 00:00  leading space\r\n")


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_unix_list(feed):
    entries = parse(UNIX, FEEDS[feed], mlsd=False)
    assert entries == [
        Entry("pub", "dir", 4096, datetime(2024, 1, 2, 3, 4), "rwxr-xr-x"),
        Entry("old.tar.gz", "file", 1048576, datetime(2019, 12, 31), "rw-r--r--"),
        Entry("future is last year", "file", 12, datetime(2023, 6, 17, 23, 59), "rw-r--r--"),
        Entry("latest", "link", 7, datetime(2024, 2, 29, 10, 0), "rwxrwxrwx", "pub/v2"),
        Entry("no group column", "file", 3, datetime(2024, 3, 1, 10, 0), "rw-r--r--"),
        Entry("null", "other", 1, datetime(2020, 1, 1), "rw-rw-rw-"),
        Entry(" leading space", "file", 5, datetime(2024, 1, 1), "rw-r--r--"),
    ]


DOS = (b"01-16-24  02:33PM       <DIR>          Program Files\r\n"
       b"12-31-1999  11:59AM             1234 report 1999.doc\r\n"
       b"06-01-24  12:05AM                0 empty.txt\r\n"
       b"06-01-24  18:05                 7 twenty-four hour.txt\r\n")


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_dos_list(feed):
    assert parse(DOS, FEEDS[feed], mlsd=False) == [
        Entry("Program Files", "dir", None, datetime(2024, 1, 16, 14, 33)),
        Entry("report 1999.doc", "file", 1234, datetime(1999, 12, 31, 11, 59)),
        Entry("empty.txt", "file", 0, datetime(2024, 6, 1, 0, 5)),
        Entry("twenty-four hour.txt", "file", 7, datetime(2024, 6, 1, 18, 5)),
    ]


def test_lines_that_fit_no_format_are_skipped_and_the_last_line_needs_no_newline():
    assert parse_list_line("this is not a listing") is None
    assert parse_list_line("-rw-r--r-- 1 u g 5 Foo 01 00:00 x") is None  # no such month
    assert parse(b"-rw-r--r-- 1 u g 5 Jan 01 00:00 last", FEEDS["whole"], mlsd=False) == [
        Entry("last", "file", 5, datetime(2024, 1, 1), "rw-r--r--")]


def test_malformed_mlsd_lines_are_errors():
    for line in ("type=file;size=1;", "no-space-at-all"):
        with pytest.raises(RemoteProtocolError, match="MLSD"):
            parse_mlsd_line(line)

def test_mlsd_times_and_facts_are_parsed_when_read():
    # A malformed modify fact spoils only that entry's time, read when asked for, not the
    # whole listing; the server's text stays in facts.
    entry = parse_mlsd_line("type=file;modify=yesterday; x")
    assert entry is not None and entry.modified is None
    assert entry.facts == {"type": "file", "modify": "yesterday"}
    # Names are case-insensitive, values are kept as sent; a last fact without its ";".
    entry = parse_mlsd_line("Type=File;SIZE=12;Unix.Owner=Bob;Perm=RW;modify=20240101000000 n")
    assert entry is not None
    assert (entry.type, entry.size, entry.permissions) == ("file", 12, "rw")
    assert entry.modified == datetime(2024, 1, 1, tzinfo=UTC)
    assert entry.facts["unix.owner"] == "Bob"
    # media-type is not type, and sizd stands in for size (directories).
    entry = parse_mlsd_line("media-type=text/plain;type=dir;sizd=4096; d")
    assert entry is not None and (entry.type, entry.size) == ("dir", 4096)
    assert parse_mlsd_line("size=3; no-type") == Entry("no-type", "other", 3)
    # Entries stay plain values: settable, compared without facts, shown without them.
    entry.modified = datetime(2020, 1, 1)
    assert entry.modified == datetime(2020, 1, 1) and "facts" not in repr(entry)
    assert Entry("a", facts={"x": "1"}) == Entry("a") != Entry("b")


@pytest.mark.parametrize("feed", ["whole", "random"])
def test_a_10_mb_listing_line_is_bounded(feed):
    with pytest.raises(MessageTooLarge, match="8192"):
        parse(b"type=file; " + b"x" * (10 * 1024 * 1024), FEEDS[feed], mlsd=True)


def test_a_long_listing_streams_in_flat_memory():
    parser = ListingParser(mlsd=True)
    line = b"type=file;size=1;modify=20240101000000; name-%06d\r\n"
    count = 0
    for chunk_start in range(0, 100_000, 1000):
        parser.receive_data(b"".join(line % i for i in range(chunk_start, chunk_start + 1000)))
        count += sum(1 for _ in parser.entries())
        assert len(parser._buffer) < len(line) + 8
    assert count == 100_000
