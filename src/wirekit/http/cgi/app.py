"""``CGIApp``: a WSGI application that runs CGI scripts (RFC 3875), the course's ``cgi-bin``.

The course served CGI with ``CGIHTTPRequestHandler`` (slides 4-22..4-33), which Python 3.13
removed and which had a record of source disclosure, httpoxy, a shell-visible argv and leaked
server environment. ``CGIApp`` keeps the model (a request runs one executable under
``root/cgi-bin``, which learns the request from meta-variables and stdin and answers on stdout)
and fixes those: see ``resolve`` (which path runs what), ``environment`` (what the script sees),
``process`` (how it runs) and ``output`` (what it may answer). Being a WSGI application, it runs
on any WSGI server; paths outside the CGI directory go to ``fallback`` (e.g. a static file
application), or get 404.

Request bodies: ``CONTENT_LENGTH`` bytes are streamed to the script's stdin, never more (C05).
A body without a length (HTTP/1.1 chunked) is spooled, to memory then disk, when the server has
de-chunked it (``wsgi.input_terminated``), and the script is given its ``CONTENT_LENGTH``;
without that promise from the server the answer is 411 Length Required.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from io import BytesIO
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote_to_bytes

from wirekit.errors import ConfigError, Timeout
from wirekit.http.cgi.environment import DEFAULT_PATH, script_environment
from wirekit.http.cgi.output import HeadParser, ScriptHead, ScriptOutputError
from wirekit.http.cgi.process import ScriptProcess
from wirekit.http.cgi.resolve import Refused, in_cgi_space, resolve_script, split_path
from wirekit.http.cgi.response import ScriptBody, error_response, log_text
from wirekit.http.forms.limits import FormError
from wirekit.http.forms.sources import body_chunks
from wirekit.http.pages import PageRenderer, relative_root
from wirekit.proto.http import reason_phrase

__all__ = ["CGIApp"]

logger = logging.getLogger("wirekit.http.cgi")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
_CHUNK = 64 * 1024


class CGIApp:
    """Run the scripts in ``root/<cgi_dir>`` for URLs under ``cgi_dir`` (a WSGI application).

    ``interpreters`` maps a file suffix to the program that runs it (``.py`` runs with this
    Python by default); any other script must be executable (a ``#!`` line is fine). A script
    gets ``timeout`` seconds in all; ``extra_env`` adds variables to its environment, whose
    ``PATH`` is ``path``. ``fallback`` answers every path outside ``cgi_dir``. ``page`` gives
    the error pages (404, 413, 502, 504...) the application's look (``PageRenderer``).
    """

    def __init__(
        self,
        root: str | Path,
        *,
        cgi_dir: str = "/cgi-bin",
        script_dir: str | Path | None = None,
        timeout: float = 30.0,
        interpreters: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        path: str = DEFAULT_PATH,
        fallback: WSGIApp | None = None,
        max_body: int = 64 * 1024 * 1024,
        max_header_block: int = 64 * 1024,
        max_stderr: int = 8 * 1024,
        max_redirects: int = 5,
        page: PageRenderer | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        prefix = [seg for seg in cgi_dir.split("/") if seg]
        if not prefix or any(seg in (".", "..") for seg in prefix):
            raise ConfigError(f"cgi_dir must be a path like '/cgi-bin', got {cgi_dir!r}")
        if not timeout > 0:
            raise ConfigError(f"timeout must be > 0, got {timeout!r}")
        self.prefix = prefix
        self.script_dir = Path(script_dir) if script_dir is not None else self.root.joinpath(
            *prefix)
        self.timeout = timeout
        self.interpreters = dict(interpreters) if interpreters is not None else {
            ".py": sys.executable}
        self.extra_env = dict(extra_env or {})
        self.path = path
        self.fallback = fallback
        self.max_body = max_body
        self.max_header_block = max_header_block
        self.max_stderr = max_stderr
        self.max_redirects = max_redirects
        self.page = page

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        return self._dispatch(environ, start_response, 0)

    def _error(self, environ: dict[str, Any], start_response: StartResponse, status: int,
               detail: str | None = None) -> list[bytes]:
        return error_response(start_response, status, detail, page=self.page,
                              root=relative_root(environ))

    # -- routing -----------------------------------------------------------------------------
    def _dispatch(self, environ: dict[str, Any], start_response: StartResponse,
                  redirects: int) -> Iterable[bytes]:
        try:
            segments, trailing_slash = split_path(str(environ.get("PATH_INFO") or "/"))
            if not in_cgi_space(segments, self.prefix):
                if self.fallback is not None:
                    return self.fallback(environ, start_response)
                raise Refused(404, "outside the CGI directory")
            script = resolve_script(segments, trailing_slash, self.prefix, self.script_dir,
                                    self.interpreters)
        except Refused as refused:
            logger.debug("CGI %s: %s", log_text(str(environ.get("PATH_INFO"))), refused.reason)
            return self._error(environ, start_response, refused.status)
        return _RunOnFirstIteration(
            lambda: self._run(environ, start_response, redirects, script))

    def _run(self, environ: dict[str, Any], start_response: StartResponse, redirects: int,
             script: Any) -> Iterable[bytes]:
        """Start the script and answer with its output (called on the first iteration)."""
        try:
            body, length, spool = self._request_body(environ)
        except FormError as exc:
            return self._error(environ, start_response, exc.status, str(exc))
        env = script_environment(environ, script, document_root=self.root,
                                 content_length=length, path=self.path,
                                 extra_env=self.extra_env)
        try:
            process = ScriptProcess(script.argv, env, script.path.parent, body, self.timeout,
                                    self.max_stderr)
        except OSError as exc:
            _close(spool)
            logger.error("CGI %s could not be started: %s", script.path, exc)
            return self._error(environ, start_response, 500)
        return self._respond(environ, start_response, redirects, script.path, process, spool)

    def _respond(self, environ: dict[str, Any], start_response: StartResponse, redirects: int,
                 name: Path, process: ScriptProcess, spool: IO[bytes] | None
                 ) -> Iterable[bytes]:
        try:
            head, rest = self._read_head(process)
        except (ScriptOutputError, Timeout) as exc:
            status = 504 if isinstance(exc, Timeout) else 502
            code = _finish(process, spool)
            logger.error("CGI %s: %s (exit %s); stderr tail: %s", name, exc, code,
                         log_text(process.stderr_tail))
            return self._error(environ, start_response, status)
        except FormError as exc:  # the client's body ended early or was too big
            _finish(process, spool)
            return self._error(environ, start_response, exc.status, str(exc))
        except BaseException:
            _finish(process, spool)
            raise
        if head.dropped:
            logger.warning("CGI %s: dropped hop-by-hop header(s) %s", name, head.dropped)
        if head.local_redirect:
            _finish(process, spool)
            return self._local_redirect(environ, start_response, redirects, head, name)
        status_line = f"{head.status} {head.reason or reason_phrase(head.status) or 'Unknown'}"
        try:
            start_response(status_line, head.headers)
        except BaseException:
            _finish(process, spool)
            raise
        head_only = environ.get("REQUEST_METHOD") == "HEAD"
        return ScriptBody(process, rest, head.content_length, head_only, name, spool)

    def _read_head(self, process: ScriptProcess) -> tuple[ScriptHead, bytes]:
        parser = HeadParser(self.max_header_block)
        while True:
            data = process.read(_CHUNK)
            if not data:
                parser.eof()
            head = parser.feed(data)
            if head is not None:
                return head, parser.rest

    def _local_redirect(self, environ: dict[str, Any], start_response: StartResponse,
                        redirects: int, head: ScriptHead, name: Path) -> Iterable[bytes]:
        """RFC 3875 §6.2.2: answer the request as if it had been for ``Location``."""
        if redirects >= self.max_redirects:
            logger.error("CGI %s: more than %d local redirects", name, self.max_redirects)
            return self._error(environ, start_response, 502)
        assert head.location is not None
        target = head.location.split("#", 1)[0]
        path, _, query = target.partition("?")
        mount = str(environ.get("SCRIPT_NAME") or "")
        if mount:
            if path != mount and not path.startswith(mount + "/"):
                start_response("302 Found", head.headers)  # not ours: let the client go there
                return []
            path = path[len(mount):] or "/"
        new = {key: value for key, value in environ.items()
               if key not in ("CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_TRANSFER_ENCODING",
                              "wirekit.form")}
        new.update({
            "REQUEST_METHOD": "HEAD" if environ.get("REQUEST_METHOD") == "HEAD" else "GET",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "wsgi.input": BytesIO(),
            "wsgi.input_terminated": True,
        })
        return self._dispatch(new, start_response, redirects + 1)

    # -- the request body ----------------------------------------------------------------------
    def _request_body(self, environ: Mapping[str, Any]
                      ) -> tuple[Iterator[bytes] | None, int | None, IO[bytes] | None]:
        """The body to stream to stdin, its length for ``CONTENT_LENGTH``, and any spool."""
        raw = str(environ.get("CONTENT_LENGTH") or "").strip()
        stream = environ.get("wsgi.input")
        if raw:
            if not (raw.isascii() and raw.isdigit()):
                raise FormError(f"invalid Content-Length {raw[:40]!r}")
            length = int(raw)
            if length > self.max_body:
                raise FormError(f"request body larger than {self.max_body} bytes", status=413)
            if length == 0 or stream is None:
                return None, length, None
            return body_chunks(stream, length, self.max_body), length, None
        if environ.get("wsgi.input_terminated") and stream is not None:
            spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115
            try:
                for chunk in body_chunks(stream, None, self.max_body):
                    spool.write(chunk)
            except BaseException:
                spool.close()
                raise
            size = spool.tell()
            if size == 0 and not environ.get("HTTP_TRANSFER_ENCODING"):
                spool.close()
                return None, None, None
            spool.seek(0)
            return iter(lambda: spool.read(_CHUNK), b""), size, spool
        if environ.get("HTTP_TRANSFER_ENCODING"):
            raise FormError("a request body without Content-Length", status=411)
        return None, None, None


def _close(spool: IO[bytes] | None) -> None:
    if spool is not None:
        spool.close()


def _finish(process: ScriptProcess, spool: IO[bytes] | None) -> int:
    _close(spool)
    return process.close()


class _RunOnFirstIteration:
    """A script's response, started when the server first iterates it.

    PEP 3333 lets an application call ``start_response`` on the first iteration. Starting
    the script there, not in the call, means an event-loop server (wirekit's ``async``
    mode) hands the whole run to a worker thread, because the response is not a list: the
    loop never waits for a script to start, read its input or print its headers.
    """

    def __init__(self, run: Any) -> None:
        self._run = run
        self._inner: Iterable[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        if self._inner is None:
            self._inner = self._run()
        yield from self._inner

    def close(self) -> None:
        """Stop the script if it still runs (the client went away): the inner close."""
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()
