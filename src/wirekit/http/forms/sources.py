"""Where a form comes from: a WSGI environ, or a CGI script's environment and stdin.

Both are the same shape (RFC 3875 meta-variables; WSGI copied them, PEP 3333), so one function
does the work and the two entry points only say where the body is read from. The body is read
in bounded chunks and never past ``CONTENT_LENGTH`` (reading further would block, or read the
next pipelined request); without a length it is read to its end only when the server says the
input is terminated (``wsgi.input_terminated``, e.g. a de-chunked request body).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator, Mapping
from typing import IO, Any

from wirekit.http.forms.fields import FormData, FormField
from wirekit.http.forms.limits import (
    DEFAULT_FORM_LIMITS,
    FormBudget,
    FormError,
    FormLimits,
    FormTooLarge,
)
from wirekit.http.forms.multipart import MultipartFormParser, boundary_of
from wirekit.http.forms.urlencoded import UrlencodedParser, query_fields

__all__ = ["body_chunks", "parse_cgi_form", "parse_form"]

_CHUNK = 64 * 1024
# Where parse_form leaves its result, so a second call (middleware, then the app) does not try
# to read a body that is already gone.
ENVIRON_KEY = "wirekit.form"


def body_chunks(stream: IO[bytes], length: int | None, max_body: int) -> Iterator[bytes]:
    """Yield the body from ``stream``: exactly ``length`` bytes, or to EOF if ``None``."""
    if length is not None:
        if length > max_body:  # refuse before reading a byte
            raise FormTooLarge(f"request body of {length} bytes is larger than {max_body}",
                               "max_body")
        remaining = length
        while remaining:
            data = stream.read(min(remaining, _CHUNK))
            if not data:
                raise FormError(f"request body ended after {length - remaining} of "
                                f"{length} bytes")
            remaining -= len(data)
            yield data
        return
    total = 0
    while data := stream.read(_CHUNK):
        total += len(data)
        if total > max_body:
            raise FormTooLarge(f"request body is larger than {max_body} bytes", "max_body")
        yield data


def _content_length(environ: Mapping[str, Any]) -> int | None:
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not raw.isascii():
        raise FormError(f"invalid CONTENT_LENGTH {raw[:40]!r}")
    return int(raw)


def _parse(
    environ: Mapping[str, Any],
    stream: IO[bytes] | None,
    terminated: bool,
    limits: FormLimits,
    encoding: str,
    errors: str,
    upload_dir: str | None,
) -> FormData:
    budget = FormBudget(limits)
    fields: list[FormField] = query_fields(environ.get("QUERY_STRING") or "", budget,
                                          encoding, errors)
    content_type = str(environ.get("CONTENT_TYPE") or "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return FormData(fields)  # not a form body: leave it unread for the application
    length = _content_length(environ)
    if length is None and not terminated:
        if environ.get("HTTP_TRANSFER_ENCODING"):
            raise FormError("a form body without Content-Length", status=411)
        length = 0  # RFC 3875 §4.1.2: no CONTENT_LENGTH means no body
    if stream is None:
        raise FormError("no input stream for the request body", status=500)
    if media == "multipart/form-data":
        parser: MultipartFormParser | UrlencodedParser = MultipartFormParser(
            boundary_of(content_type), budget, encoding, errors, upload_dir)
    else:
        parser = UrlencodedParser(budget, encoding, errors)
    try:
        for chunk in body_chunks(stream, length, limits.max_body):
            parser.feed(chunk)
        fields += parser.close()
    except BaseException:
        if isinstance(parser, MultipartFormParser):
            parser.abort()
        raise
    return FormData(fields)


def _limits(limits: FormLimits | None, overrides: dict[str, int]) -> FormLimits:
    base = limits if limits is not None else DEFAULT_FORM_LIMITS
    return dataclasses.replace(base, **overrides) if overrides else base


def parse_form(
    environ: dict[str, Any],
    limits: FormLimits | None = None,
    *,
    encoding: str = "utf-8",
    errors: str = "replace",
    upload_dir: str | None = None,
    **overrides: int,
) -> FormData:
    """Parse the query string and form body of a WSGI request.

    ``overrides`` replace single limits (``parse_form(environ, max_body=1 << 30)``). Raises
    :class:`FormError` (``.status`` 400 or 411) or :class:`FormTooLarge` (413, 414). The result
    is cached in ``environ["wirekit.form"]``; close it (or use ``with``) to delete uploads.
    """
    cached = environ.get(ENVIRON_KEY)
    if isinstance(cached, FormData):
        return cached
    terminated = bool(environ.get("wsgi.input_terminated"))
    form = _parse(environ, environ.get("wsgi.input"), terminated, _limits(limits, overrides),
                  encoding, errors, upload_dir)
    environ[ENVIRON_KEY] = form
    return form


def parse_cgi_form(
    environ: Mapping[str, str] | None = None,
    stdin: IO[bytes] | None = None,
    limits: FormLimits | None = None,
    *,
    encoding: str = "utf-8",
    errors: str = "replace",
    upload_dir: str | None = None,
    **overrides: int,
) -> FormData:
    """Parse the form a CGI script was sent: ``form = parse_cgi_form()`` replaces
    ``form = cgi.FieldStorage()``.

    By default the meta-variables come from the process environment (a CGI script's
    environment *is* its request, RFC 3875 §4) and the body from ``sys.stdin.buffer``; pass
    ``environ`` and ``stdin`` to parse something else. Errors as for :func:`parse_form`.
    """
    if environ is None:
        from wirekit.http.cgienv import cgi_environ

        environ = cgi_environ()
    if stdin is None:
        stdin = sys.stdin.buffer
    return _parse(environ, stdin, False, _limits(limits, overrides), encoding, errors,
                  upload_dir)
