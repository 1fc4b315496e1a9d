"""What FTP replies carry (PASV, EPSV, PWD, SIZE, MDTM, FEAT) and the PORT/EPRT arguments."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wirekit.errors import ConfigError, RemoteProtocolError
from wirekit.proto.ftp import (
    format_eprt,
    format_port,
    parse_epsv,
    parse_features,
    parse_pasv,
    parse_pwd,
    parse_size,
    parse_time,
)
from wirekit.proto.replies import Reply


@pytest.mark.parametrize(("text", "expected"), [
    ("Entering Passive Mode (127,0,0,1,4,1).", ("127.0.0.1", 1025)),
    ("Entering Passive Mode 10,0,0,1,255,255", ("10.0.0.1", 65535)),  # no parentheses
    ("=192,168,1,2,0,21", ("192.168.1.2", 21)),
])
def test_pasv(text, expected):
    assert parse_pasv(Reply(227, (text,))) == expected


@pytest.mark.parametrize("reply", [
    Reply(227, ("Entering Passive Mode (127,0,0,1,4)",)),
    Reply(227, ("Entering Passive Mode (256,0,0,1,4,1)",)),
    Reply(227, ("Entering Passive Mode (127,0,0,1,0,0)",)),
    Reply(200, ("Entering Passive Mode (127,0,0,1,4,1)",)),
])
def test_malformed_pasv(reply):
    with pytest.raises(RemoteProtocolError, match="PASV"):
        parse_pasv(reply)


def test_epsv():
    assert parse_epsv(Reply(229, ("Entering Extended Passive Mode (|||6446|)",))) == 6446
    assert parse_epsv(Reply(229, ("ok (!!!21!)",))) == 21
    for text in ("(|||0|)", "(|||70000|)", "(||6446|)", "(|1|2|)", "6446"):
        with pytest.raises(RemoteProtocolError, match="EPSV"):
            parse_epsv(Reply(229, (text,)))


def test_port_and_eprt():
    assert format_port("127.0.0.1", 1025) == "127,0,0,1,4,1"
    assert format_eprt("127.0.0.1", 6275) == "|1|127.0.0.1|6275|"
    assert format_eprt("::1", 5282) == "|2|::1|5282|"
    assert format_eprt("fe80::1%eth0", 5282) == "|2|fe80::1|5282|"
    with pytest.raises(ConfigError, match="EPRT"):
        format_port("::1", 21)
    with pytest.raises(ConfigError):
        format_eprt("example.org", 21)


def test_pwd_unquotes_doubled_quotes():
    assert parse_pwd(Reply(257, ('"/pub" is the current directory',))) == "/pub"
    assert parse_pwd(Reply(257, ('"/a ""quoted"" dir" created',))) == '/a "quoted" dir'
    assert parse_pwd(Reply(257, ('"/"',))) == "/"
    for reply in (Reply(257, ("/pub",)), Reply(257, ('"/unterminated',)),
                  Reply(250, ('"/"',))):
        with pytest.raises(RemoteProtocolError):
            parse_pwd(reply)


def test_size_and_time():
    assert parse_size(Reply(213, ("1048576",))) == 1048576
    for reply in (Reply(213, ("12a",)), Reply(213, ("-1",)), Reply(550, ("1",)),
                  Reply(213, ("١٢",))):  # Arabic-Indic digits are digits to isdigit()
        with pytest.raises(RemoteProtocolError):
            parse_size(reply)
    assert parse_time("20240131235960") == datetime(2024, 1, 31, 23, 59, 59, tzinfo=UTC)
    assert parse_time("20240131120000.25") == datetime(2024, 1, 31, 12, 0, 0, 250000,
                                                       tzinfo=UTC)
    for text in ("2024013112000", "20241331120000", "yesterday"):
        with pytest.raises(RemoteProtocolError):
            parse_time(text)


def test_features():
    reply = Reply(211, ("Features:", " MDTM", " REST STREAM", " mlst type*;size*;", "End"))
    assert parse_features(reply) == {"MDTM": "", "REST": "STREAM", "MLST": "type*;size*;"}
    assert parse_features(Reply(211, ("No features",))) == {}
    assert parse_features(Reply(502, ("FEAT not implemented",))) == {}
