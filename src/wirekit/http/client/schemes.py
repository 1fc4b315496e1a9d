"""The course's other ``urlopen`` schemes: ``file:`` (a local file) and ``ftp:`` (a download).

Both answer with a ``Response`` (status 200, ``Content-Type`` guessed from the name,
``Content-Length`` when known) whose body streams from the file or the FTP data connection,
so code written for http works unchanged. They are reachable only when the caller names
them: a redirect never leads here (SECURITY.md K01).

FTP uses the standard library's ``ftplib`` (passive mode, binary, the PASV address ignored in
favour of the control connection's, as ftplib does since 3.11's hardening); a path naming a
directory (ending in ``/``) returns its listing. Path segments are percent-decoded, and a
decoded CR, LF or NUL is refused before any command is sent (FTP command injection,
CVE-2017-3533-style).
"""

from __future__ import annotations

import email.utils
import ftplib
import mimetypes
import os
import socket
from typing import TYPE_CHECKING, BinaryIO, Final
from urllib.parse import unquote

from wirekit.errors import AuthenticationError, WirekitError
from wirekit.http.client.errors import InvalidRequest, InvalidURL, ResourceError
from wirekit.http.client.urls import URL
from wirekit.net.oserrors import translate
from wirekit.proto.http import Headers

if TYPE_CHECKING:
    from wirekit.http.client.bodies import Body
    from wirekit.http.client.response import Response
    from wirekit.http.client.transport import Options

__all__ = [
    "FILE_TRANSPORT",
    "FTP_TRANSPORT",
    "FTPTransport",
    "FileTransport",
    "open_file",
    "open_ftp",
]

_BLOCK = 256 * 1024


def _content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


class _FileSource:
    __slots__ = ("handle",)

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle

    def next_chunk(self) -> bytes | None:
        return self.handle.read(_BLOCK) or None

    def finish(self) -> None:
        self.handle.close()

    abort = finish


def open_file(url: URL) -> Response:
    """A ``Response`` reading the local file ``url`` names."""
    from wirekit.http.client.response import Response

    path = unquote(url.target)
    if "\x00" in path:
        raise InvalidURL(f"NUL in file: URL {url.target!r}")
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the response
        info = os.fstat(handle.fileno())
    except OSError as exc:
        raise ResourceError(exc.errno, f"cannot open {path!r}: {exc.strerror}") from exc
    if not os.path.isfile(path):
        handle.close()
        raise ResourceError(21, f"{path!r} is not a regular file")
    headers = Headers([
        ("Content-Type", _content_type(path)),
        ("Content-Length", str(info.st_size)),
        ("Last-Modified", email.utils.formatdate(info.st_mtime, usegmt=True)),
    ])
    return Response(200, headers, url=f"file://{path}", source=_FileSource(handle))


class _FTPSource:
    __slots__ = ("data", "ftp")

    def __init__(self, ftp: ftplib.FTP, data: socket.socket) -> None:
        self.ftp = ftp
        self.data = data

    def next_chunk(self) -> bytes | None:
        try:
            return self.data.recv(_BLOCK) or None
        except OSError as exc:
            self.abort()
            raise translate(exc, "FTP download") from exc

    def finish(self) -> None:
        self.data.close()
        try:
            self.ftp.voidresp()  # 226 Transfer complete
            self.ftp.quit()
        except (OSError, ftplib.Error):
            self.ftp.close()

    def abort(self) -> None:
        self.data.close()
        self.ftp.close()


def open_ftp(url: URL, timeout: float | None) -> Response:
    """A ``Response`` streaming ``url`` from an FTP server (or its listing for a ``.../``)."""
    from wirekit.http.client.response import Response

    segments = [unquote(s) for s in url.path.split("/")[1:]]
    if any(c in s for s in segments for c in "\r\n\x00"):
        raise InvalidURL(f"CR, LF or NUL in ftp: URL path {url.path!r}")
    *directories, name = segments
    ftp = ftplib.FTP(timeout=timeout)  # noqa: S321 - ftp: URLs are the course's, asked for
    try:
        ftp.connect(url.host, url.port or 21)
        ftp.login(url.username or "anonymous", url.password or "anonymous@")
        for directory in directories:
            if directory:
                ftp.cwd(directory)
        ftp.voidcmd("TYPE I")
        if not name:
            data = ftp.transfercmd("LIST")
            headers = Headers([("Content-Type", "text/plain")])
        else:
            size = _size(ftp, name)
            data = ftp.transfercmd("RETR " + name)
            fields = [("Content-Type", _content_type(name))]
            if size is not None:
                fields.append(("Content-Length", str(size)))
            headers = Headers(fields)
    except ftplib.error_perm as exc:
        ftp.close()
        if str(exc).startswith("530"):
            raise AuthenticationError(f"FTP login refused: {exc}") from None
        raise ResourceError(f"FTP error for {url.path!r}: {exc}") from None
    except ftplib.Error as exc:
        ftp.close()
        raise ResourceError(f"FTP error for {url.path!r}: {exc}") from None
    except (OSError, EOFError) as exc:
        phase = "connect" if ftp.sock is None else "FTP"
        ftp.close()
        if isinstance(exc, WirekitError):
            raise
        raise translate(exc, phase, timeout) from exc
    return Response(200, headers, url=url.absolute, source=_FTPSource(ftp, data))


def _size(ftp: ftplib.FTP, name: str) -> int | None:
    try:
        return ftp.size(name)
    except ftplib.Error:
        return None  # SIZE is an extension (RFC 3659); not every server has it


def _read_only(method: str, url: URL, body: object) -> None:
    if method != "GET" or body is not None:
        raise InvalidRequest(f"{url.scheme}: URLs can only be read (GET)")


class FileTransport:
    """``file:`` URLs as a session transport (GET only)."""

    def exchange(self, method: str, url: URL, headers: list[tuple[str, str]],
                 body: Body | None, options: Options) -> Response:
        _read_only(method, url, body)
        return open_file(url)

    def close(self) -> None:
        pass


class FTPTransport:
    """``ftp:`` URLs as a session transport (GET only; the read timeout bounds each step)."""

    def exchange(self, method: str, url: URL, headers: list[tuple[str, str]],
                 body: Body | None, options: Options) -> Response:
        _read_only(method, url, body)
        return open_ftp(url, options.read_timeout)

    def close(self) -> None:
        pass


FILE_TRANSPORT: Final = FileTransport()
FTP_TRANSPORT: Final = FTPTransport()
