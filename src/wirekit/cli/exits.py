"""Exit codes of ``wirekit get/post/http``, by cause, so scripts can tell failures apart.

The numbers are curl's where curl has one (``man curl``, EXIT CODES), and httpie's for HTTP
errors (4 for a 4xx, 5 for a 5xx; curl has a single 22 for both). ``exit_code(exc)`` maps
wirekit's one exception tree (``wirekit.errors``, ``wirekit.http.client.errors``) to them, in
one table, read top to bottom; the first matching class wins.

A certificate that fails verification and any other TLS failure are both ``TLSError``; they are
told apart by the ``ssl.SSLCertVerificationError`` that ``wirekit.net.oserrors`` keeps as the
error's ``__cause__``.
"""

from __future__ import annotations

import ssl
from typing import Final

import click

from wirekit.errors import ConnectError, LookupFailed, Timeout, TLSError
from wirekit.http.client.errors import HTTPError, InvalidURL, ProxyError, TooManyRedirects

__all__ = ["EXIT_CODES", "RequestFailed", "exit_code", "exit_code_help", "http_exit_code"]

FAILURE: Final = 1
USAGE: Final = 2
BAD_URL: Final = 3
HTTP_4XX: Final = 4
HTTP_5XX: Final = 5
LOOKUP: Final = 6
CONNECT: Final = 7
WRITE: Final = 23
TIMEOUT: Final = 28
TLS_HANDSHAKE: Final = 35
REDIRECTS: Final = 47
CERTIFICATE: Final = 60
INTERRUPTED: Final = 130

#: (code, meaning), as ``--help`` and docs/http-client.md list them.
EXIT_CODES: Final = (
    (0, "success"),
    (FAILURE, "any other failure (a broken reply, a proxy refusal, ...)"),
    (USAGE, "usage: a bad option or request item"),
    (BAD_URL, "bad URL"),
    (HTTP_4XX, "the server answered 4xx (its body is printed unless -f)"),
    (HTTP_5XX, "the server answered 5xx (its body is printed unless -f)"),
    (LOOKUP, "the host name did not resolve"),
    (CONNECT, "cannot connect (refused, unreachable)"),
    (WRITE, "cannot write the output file or cookie jar"),
    (TIMEOUT, "timed out"),
    (TLS_HANDSHAKE, "TLS handshake failed"),
    (REDIRECTS, "too many redirects"),
    (CERTIFICATE, "the server's certificate did not verify"),
    (INTERRUPTED, "interrupted (Ctrl-C)"),
)

#: Exception class -> exit code; ProxyError before ConnectError, its base.
_TABLE: Final[tuple[tuple[type[BaseException], int], ...]] = (
    (InvalidURL, BAD_URL),
    (TooManyRedirects, REDIRECTS),
    (LookupFailed, LOOKUP),
    (ProxyError, FAILURE),
    (ConnectError, CONNECT),
    (Timeout, TIMEOUT),
)


class RequestFailed(click.ClickException):
    """A failure with its exit code; ``wirekit.cli.main`` prints the one-line message."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code  # type: ignore[misc]  # click sets it per class; ours per cause


def http_exit_code(status: int) -> int:
    """4 for a 4xx status, 5 for a 5xx, 0 otherwise (httpie's ``--check-status`` codes)."""
    return {4: HTTP_4XX, 5: HTTP_5XX}.get(status // 100, 0)


def _certificate_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):  # the chain is short; the bound only guards against a cycle
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def exit_code(exc: BaseException) -> int:
    """The exit code for a failure of a request command."""
    if isinstance(exc, HTTPError):
        return http_exit_code(exc.status) or FAILURE
    if isinstance(exc, TLSError):
        return CERTIFICATE if _certificate_failure(exc) else TLS_HANDSHAKE
    for cls, code in _TABLE:
        if isinstance(exc, cls):
            return code
    return FAILURE


def exit_code_help() -> str:
    """The exit-code table for a command's ``--help`` epilog (click's ``\\b`` keeps lines)."""
    rows = [f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES]
    return "\b\nExit codes:\n" + "\n".join(rows) + "\n"
