"""``StaticFiles``: a directory served over HTTP as a WSGI application (course slides 4-19..4-21).

The course's static server is ``http.server.SimpleHTTPRequestHandler`` run from a directory.
This is the same idea as a PEP 3333 application, so it runs on any WSGI server and mounts next
to other applications, with what the stdlib server leaves out: validators and conditional
requests (304/412), ranges (206, multipart/byteranges, 416), ``sendfile`` through
``wsgi.file_wrapper``, a listing that is safe against hostile names, and path resolution that
cannot leave the root (:mod:`wirekit.http.static.paths`).

The hot path for a plain file is short on purpose: one ``lstat`` a path level, a dictionary
lookup for the type, and then either one ``read`` (small files go out in the same write as
the headers) or ``sendfile`` by the server. Nothing about files is cached, so an edit is
visible on the next request.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

from wirekit.errors import ConfigError
from wirekit.http.pages import PageRenderer, error_page, relative_root
from wirekit.http.static.bodies import FileBody, MultipartBody, multipart_layout
from wirekit.http.static.conditional import (
    etag_for,
    if_range_allows,
    last_modified,
    precondition_status,
)
from wirekit.http.static.listing import STYLE, list_directory, render_listing
from wirekit.http.static.mime import ContentTypes
from wirekit.http.static.paths import (
    PathRefused,
    Resolved,
    inside,
    open_checked,
    resolve,
    url_segments,
)
from wirekit.http.static.ranges import parse_ranges
from wirekit.proto.http import reason_phrase

__all__ = ["SMALL_FILE", "StaticFiles", "error_response"]

StartResponse = Callable[..., Any]

#: Files up to this size are read and returned with the headers (one write, no ``sendfile``
#: set-up); larger ones go through ``wsgi.file_wrapper``.
SMALL_FILE = 64 * 1024
# Small files kept in memory, each re-validated by one lstat per request (see _Cached).
_CACHE_ENTRIES = 1024
_CACHE_BYTES = 32 << 20
_HTML = "text/html; charset=utf-8"
_NOSNIFF = ("X-Content-Type-Options", "nosniff")
# Generated pages need no script, image or frame: a listing cannot run what a name smuggles in.
_PAGE_CSP = ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
# A page in the application's look (``page=``) loads its stylesheet and icon from the site.
_SITE_CSP = ("Content-Security-Policy",
             "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'")
_ALLOW = ("Allow", "GET, HEAD")
# Characters left as they are in a redirect: RFC 3986 pchar sub-delims in a segment, plus '%'
# and '/' and '?' in a query (which arrives already encoded). Everything else, CR and LF
# first, is percent-encoded (gunicorn CVE-2018-1000164).
_SEGMENT_SAFE = "!$&'()*+,;=:@~"
_QUERY_SAFE = "!$&'()*+,;=:@~/?%"
# Request fields that make a GET more than "send the file" (conditions, ranges).
_PLAIN_GET = frozenset({"HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH",
                        "HTTP_IF_UNMODIFIED_SINCE", "HTTP_RANGE", "HTTP_IF_RANGE"})
_CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH",
                "HTTP_IF_UNMODIFIED_SINCE")


def _page(status: int, text: str) -> bytes:
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{status} {text}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{status} {text}</h1>\n</body>\n</html>\n").encode()


_ERROR_PAGES = {code: _page(code, reason_phrase(code))
                for code in (301, 400, 403, 404, 405, 412, 416, 500)}


def error_response(start_response: StartResponse, status: int, *, head: bool = False,
                   extra: Iterable[tuple[str, str]] = (), page: PageRenderer | None = None,
                   root: str = "./") -> list[bytes]:
    """Answer ``status`` with a fixed HTML page that reflects nothing from the request.

    With ``page``, the page is in that look and links back to ``root`` (see ``listing``).
    """
    if page is None:
        body, csp = _ERROR_PAGES.get(status) or _page(status, reason_phrase(status)), _PAGE_CSP
    else:
        body, csp = error_page(page, status, root), _SITE_CSP
    start_response(f"{status} {reason_phrase(status)}", [
        ("Content-Type", _HTML), ("Content-Length", str(len(body))), _NOSNIFF, csp, *extra,
    ])
    return [] if head else [body]


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size, st.st_mode


class _Cached:
    """A small file that passed every check once, with its content.

    It is served again only while one ``lstat`` of the same path finds the very same file
    (device, inode, modification time, size, mode): a changed file, a replaced one, or a
    directory on the way swapped for a symlink (the lstat then reaches a different inode)
    all miss, and the request takes the full path again. So nothing stale or unchecked is
    ever served, for one system call instead of five (lstat, open, fstat, read, close).
    """

    __slots__ = ("_fields", "data", "found", "identity")

    def __init__(self, found: Resolved, data: bytes) -> None:
        self.found, self.data, self.identity = found, data, _identity(found.stat)
        self._fields: tuple[tuple[str, str], ...] | None = None

    def fields(self, files: StaticFiles) -> list[tuple[str, str]]:
        """The response fields of a plain 200 for this file (a fresh list)."""
        if self._fields is None:
            self._fields = (*files._headers_for(self.found),
                            ("Content-Length", str(len(self.data))))
        return list(self._fields)


class StaticFiles:
    """Serve the files under ``root`` (GET and HEAD) as a WSGI application.

    ``follow_symlinks`` lets symbolic links lead outside the root (links inside it always
    work); ``show_hidden`` serves and lists names starting with a dot; ``index`` is the file
    served for a directory (``None``: never), else the directory is listed when ``listing``.
    ``content_types`` adds or overrides extension to type mappings (``{".log": "text/plain"}``).
    ``private`` lists directories whose files are never served, whatever path or symlink
    leads there (a CGI directory: its scripts' source must not be readable). ``page`` gives
    the error pages and listings the application's look (``listing.PageRenderer``).
    """

    def __init__(self, root: str | os.PathLike[str], *, follow_symlinks: bool = False,
                 show_hidden: bool = False, index: str | None = "index.html",
                 listing: bool = True, content_types: Mapping[str, str] | None = None,
                 private: Iterable[str | os.PathLike[str]] = (),
                 page: PageRenderer | None = None) -> None:
        self.root = os.path.realpath(os.fspath(root))
        self.private = [os.path.realpath(os.fspath(path)) for path in private]
        if not os.path.isdir(self.root):
            raise ConfigError(f"cannot serve {os.fspath(root)!r}: not a directory")
        if index is not None and (not index or "/" in index or index in (".", "..")):
            raise ConfigError(f"index must be a plain file name, not {index!r}")
        self.follow_symlinks = follow_symlinks
        self.show_hidden = show_hidden
        self.index = index
        self.listing = listing
        self.page = page
        self._content_type = ContentTypes(content_types)
        self._cache: dict[str, _Cached] = {}
        self._fields: dict[tuple[str, tuple[int, ...]], tuple[tuple[str, str], ...]] = {}
        self._cache_bytes = 0

    def __repr__(self) -> str:
        return f"StaticFiles({self.root!r})"

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        head = method == "HEAD"
        if method != "GET" and not head:
            return self._error(environ, start_response, 405, extra=(_ALLOW,))
        path_info = environ.get("PATH_INFO", "")
        cached = self._cached(path_info)
        if cached is not None:
            return self._from_cache(environ, start_response, cached, head)
        try:
            names, found = self._checked(path_info)
        except PathRefused as refused:
            return self._error(environ, start_response, refused.status, head=head)
        if stat.S_ISDIR(found.stat.st_mode):
            return self._directory_or_redirect(environ, start_response, names, found, head)
        if path_info.endswith("/"):
            return self._error(environ, start_response, 404, head=head)  # not a directory
        return self._file(environ, start_response, found, head, None, path_info)

    def _directory_or_redirect(self, environ: dict[str, Any], start_response: StartResponse,
                               names: list[str], found: Resolved, head: bool
                               ) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").endswith("/"):
            return self._redirect(environ, start_response, names, head)
        return self._directory(environ, start_response, names, found, head)

    def _error(self, environ: dict[str, Any], start_response: StartResponse, status: int, *,
               head: bool = False, extra: Iterable[tuple[str, str]] = ()) -> list[bytes]:
        return error_response(start_response, status, head=head, extra=extra, page=self.page,
                              root=relative_root(environ))

    def _checked(self, path_info: str) -> tuple[list[str], Resolved]:
        """The URL path's segments and the file they name, or PathRefused."""
        names = url_segments(path_info)
        if not self.show_hidden:
            for name in names:
                if name[0] == ".":
                    raise PathRefused(404)
        found = resolve(self.root, self.root, names, follow_symlinks=self.follow_symlinks)
        if self.private:
            real = os.path.realpath(found.path)
            if any(inside(private, real) for private in self.private):
                raise PathRefused(404)
        return names, found

    # -- files -------------------------------------------------------------------------------

    def _file(self, environ: dict[str, Any], start_response: StartResponse, found: Resolved,
              head: bool, data: bytes | None, path_info: str | None = None) -> Iterable[bytes]:
        """Serve a checked file; ``data`` is its content when cached, ``path_info`` the key
        to cache it under (None: do not)."""
        st = found.stat
        headers = self._headers_for(found)
        etag, modified = headers[1][1], headers[2][1]
        for key in _CONDITIONAL:
            if key in environ:
                status = precondition_status(environ, etag, modified, st.st_mtime)
                if status == 304:
                    start_response("304 Not Modified", headers[1:3])
                    return []
                if status is not None:
                    return self._error(environ, start_response, status, head=head)
                break
        range_header = environ.get("HTTP_RANGE")
        if range_header is not None and not head:  # Range is defined for GET only (§14.2)
            if_range = environ.get("HTTP_IF_RANGE")
            if if_range is None or if_range_allows(if_range, etag, modified, st.st_mtime):
                ranges = parse_ranges(range_header, st.st_size)
                if ranges is not None:
                    return self._ranges(environ, start_response, found, headers, ranges)
        return self._whole(environ, start_response, found, headers, head, data, path_info)

    def _whole(self, environ: dict[str, Any], start_response: StartResponse, found: Resolved,
               headers: list[tuple[str, str]], head: bool, data: bytes | None,
               path_info: str | None) -> Iterable[bytes]:
        size = found.stat.st_size
        if head:
            headers.append(("Content-Length", str(size)))
            start_response("200 OK", headers)
            return []
        if data is not None:
            headers.append(("Content-Length", str(len(data))))
            start_response("200 OK", headers)
            return [data]
        fd = self._open(found)
        if fd is None:
            return self._error(environ, start_response, 404)
        if size <= SMALL_FILE:
            try:
                data = os.read(fd, size) if size else b""
            finally:
                os.close(fd)
            if path_info is not None and len(data) == size:
                self._remember(path_info, found, data)
            headers.append(("Content-Length", str(len(data))))
            start_response("200 OK", headers)
            return [data]
        headers.append(("Content-Length", str(size)))
        start_response("200 OK", headers)
        return self._wrap(environ, FileBody(fd, 0, size))

    def _headers_for(self, found: Resolved) -> list[tuple[str, str]]:
        """Content-Type, ETag, Last-Modified and the fixed fields (a fresh list: callers
        append); computed once per file version (cached with the stat identity)."""
        key = (found.path, _identity(found.stat))
        fields = self._fields.get(key)
        if fields is None:
            st = found.stat
            fields = (("Content-Type", self._content_type(found.path)), ("ETag", etag_for(st)),
                      ("Last-Modified", last_modified(st)), ("Accept-Ranges", "bytes"),
                      _NOSNIFF)
            if len(self._fields) >= _CACHE_ENTRIES:
                self._fields.clear()
            self._fields[key] = fields
        return list(fields)

    def _from_cache(self, environ: dict[str, Any], start_response: StartResponse,
                    cached: _Cached, head: bool) -> Iterable[bytes]:
        if not head and _PLAIN_GET.isdisjoint(environ):
            start_response("200 OK", cached.fields(self))  # no condition, no range
            return [cached.data]
        return self._file(environ, start_response, cached.found, head, cached.data)

    def _cached(self, path_info: str) -> _Cached | None:
        """The cached file for this path if it is still the very same file."""
        cached = self._cache.get(path_info)
        if cached is None:
            return None
        try:
            if _identity(os.lstat(cached.found.path)) == cached.identity:
                return cached
        except OSError:
            pass
        self._cache.pop(path_info, None)
        return None

    def _remember(self, path_info: str, found: Resolved, data: bytes) -> None:
        if found.is_link:
            return  # a final symlink's lstat is the link's: keep the full check for it
        if len(self._cache) >= _CACHE_ENTRIES or self._cache_bytes + len(data) > _CACHE_BYTES:
            self._cache.clear()
            self._cache_bytes = 0
        self._cache[path_info] = _Cached(found, data)
        self._cache_bytes += len(data)

    def _ranges(self, environ: dict[str, Any], start_response: StartResponse, found: Resolved,
                headers: list[tuple[str, str]], ranges: list[tuple[int, int]]) -> Iterable[bytes]:
        size = found.stat.st_size
        if not ranges:
            unsatisfiable = ("Content-Range", f"bytes */{size}")
            return self._error(environ, start_response, 416, extra=(unsatisfiable,))
        fd = self._open(found)
        if fd is None:
            return self._error(environ, start_response, 404)
        if len(ranges) == 1:
            start, end = ranges[0]
            headers += [("Content-Range", f"bytes {start}-{end}/{size}"),
                        ("Content-Length", str(end - start + 1))]
            start_response("206 Partial Content", headers)
            return self._wrap(environ, FileBody(fd, start, end - start + 1))
        boundary = secrets.token_hex(16)
        parts, closing, length = multipart_layout(ranges, size, headers[0][1], boundary)
        headers[0] = ("Content-Type", f"multipart/byteranges; boundary={boundary}")
        headers.append(("Content-Length", str(length)))
        start_response("206 Partial Content", headers)
        return MultipartBody(fd, parts, closing)

    def _open(self, found: Resolved) -> int | None:
        """Open the checked file and check what was opened (``paths.open_checked``); None
        when it is gone or the tree changed under us so that it now leads outside."""
        try:
            return open_checked(self.root, found, follow_symlinks=self.follow_symlinks,
                                private=self.private)
        except PathRefused:
            return None

    @staticmethod
    def _wrap(environ: dict[str, Any], body: FileBody) -> Iterable[bytes]:
        wrapper = environ.get("wsgi.file_wrapper")
        return wrapper(body, 256 * 1024) if wrapper is not None else body

    # -- directories -------------------------------------------------------------------------

    def _redirect(self, environ: dict[str, Any], start_response: StartResponse,
                  names: list[str], head: bool) -> list[bytes]:
        """301 to the directory's canonical URL with a slash, keeping the query (S04, S05).

        The location is rebuilt from the normalised names, never copied from the request, so
        it is a single-slash local path (``//evil.example`` cannot survive into it) and every
        byte outside the safe set, CR and LF included, is percent-encoded.
        """
        script = environ.get("SCRIPT_NAME", "").encode("latin-1", "replace")
        location = quote(script, safe="/").rstrip("/") + "/"
        for name in names:
            location += quote(os.fsencode(name), safe=_SEGMENT_SAFE) + "/"
        location = "/" + location.lstrip("/")
        query = environ.get("QUERY_STRING", "")
        if query:
            location += "?" + quote(query.encode("latin-1", "replace"), safe=_QUERY_SAFE)
        return self._error(environ, start_response, 301, head=head,
                           extra=(("Location", location),))

    def _directory(self, environ: dict[str, Any], start_response: StartResponse,
                   names: list[str], found: Resolved, head: bool) -> Iterable[bytes]:
        if self.index is not None:
            try:
                index = resolve(self.root, found.path, [self.index],
                                follow_symlinks=self.follow_symlinks)
            except PathRefused:
                pass
            else:
                if stat.S_ISREG(index.stat.st_mode):
                    return self._file(environ, start_response, index, head, None)
        if not self.listing:
            return self._error(environ, start_response, 404, head=head)
        try:
            entries, truncated = list_directory(found.path, self.root,
                                                show_hidden=self.show_hidden,
                                                follow_symlinks=self.follow_symlinks)
        except OSError:
            return self._error(environ, start_response, 403, head=head)
        script = os.fsdecode(environ.get("SCRIPT_NAME", "").encode("latin-1", "replace"))
        url_path = script.rstrip("/") + "/" + "".join(name + "/" for name in names)
        body = render_listing(url_path, entries, parent=bool(names), truncated=truncated,
                              page=self.page, root=relative_root(environ))
        csp = _PAGE_CSP if self.page is None else _SITE_CSP
        start_response("200 OK", [("Content-Type", _HTML), ("Content-Length", str(len(body))),
                                  ("Cache-Control", "no-cache"), _NOSNIFF, csp])
        return [] if head else [body]
