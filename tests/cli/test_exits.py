"""Exit codes of ``wirekit get/post/http`` by cause: the mapping, its help text and its docs."""

from __future__ import annotations

import errno
import re
import ssl
from pathlib import Path

import pytest

from wirekit.cli.exits import EXIT_CODES, exit_code, exit_code_help, http_exit_code
from wirekit.errors import (
    ConnectError,
    ConnectionClosed,
    LookupFailed,
    RemoteProtocolError,
    Timeout,
    TLSError,
)
from wirekit.http.client.errors import (
    InvalidURL,
    ProxyError,
    TooManyRedirects,
    UnsupportedScheme,
)
from wirekit.net.oserrors import translating

DOCS = Path(__file__).resolve().parents[2] / "docs" / "http-client.md"


def _translated(exc: BaseException, phase: str) -> BaseException:
    """What wirekit raises for ``exc`` during ``phase`` (through the one translation point)."""
    try:
        with translating(phase):
            raise exc
    except BaseException as raised:  # returned for inspection
        return raised
    raise AssertionError("not raised")


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (InvalidURL("control character in URL"), 3),
        (UnsupportedScheme("gopher"), 3),
        (LookupFailed(-2, "cannot resolve"), 6),
        (ConnectError(errno.ECONNREFUSED, "refused"), 7),
        (ProxyError("proxy said 403", 403), 1),  # a ConnectError, but not a connection failure
        (Timeout("read", 1.0), 28),
        (TooManyRedirects("more than 20 redirects"), 47),
        (ConnectionClosed(errno.ECONNRESET, "reset"), 1),
        (RemoteProtocolError("bad status line"), 1),
        (ValueError("anything else"), 1),
    ],
)
def test_exit_code_by_cause(exc, code):
    assert exit_code(exc) == code


def test_certificate_failures_are_told_from_other_tls_failures():
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "unable to get local issuer certificate"
    certificate = _translated(verify, "TLS handshake")
    assert isinstance(certificate, TLSError)
    assert exit_code(certificate) == 60
    handshake = _translated(ssl.SSLError(1, "wrong version number"), "TLS handshake")
    assert isinstance(handshake, TLSError)
    assert exit_code(handshake) == 35
    assert exit_code(TLSError("no cause kept")) == 35


def test_http_statuses():
    assert [http_exit_code(s) for s in (200, 204, 301, 404, 418, 500, 503)] == [0, 0, 0, 4, 4,
                                                                                5, 5]


def test_help_and_docs_list_every_code():
    text = exit_code_help()
    documented = DOCS.read_text()
    for code, meaning in EXIT_CODES:
        assert re.search(rf"^\s+{code}\s+{re.escape(meaning)}$", text, re.MULTILINE)
        assert re.search(rf"^\|\s*{code}\s*\|", documented, re.MULTILINE), code


def test_every_request_command_explains_its_exit_codes(cli):
    for command in ("get", "post", "http"):
        result = cli(command, "--help")
        assert "Exit codes:" in result.stdout and "60   the server's certificate" in result.stdout
        assert "Request options:" in result.stdout and "Connection options:" in result.stdout
