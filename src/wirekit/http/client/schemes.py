"""The course's other ``urlopen`` schemes: ``file:`` (a local file) and ``ftp:`` (a download).

Both answer with a ``Response`` (status 200, ``Content-Type`` guessed from the name,
``Content-Length`` when known) whose body streams from the file or the FTP data connection,
so code written for http works unchanged. They are reachable only when the caller names
them: a redirect never leads here (SECURITY.md K01).

FTP goes through ``wirekit.ftp`` (passive, EPSV first, binary, the data connection always to
the control connection's peer whatever PASV says, every reply bounded and timed); a path
naming a directory (ending in ``/``) returns its listing. Path segments are percent-decoded,
and a decoded CR, LF or NUL is refused before any command is sent (FTP command injection,
CVE-2017-3533-style). A download whose size the server announced and that ends short is an
error (``TransferIncomplete``), not a silently truncated body.
"""

from __future__ import annotations

import email.utils
import mimetypes
import os
from typing import TYPE_CHECKING, BinaryIO, Final
from urllib.parse import unquote

from wirekit.config import Timeouts
from wirekit.ftp import Client as FTPClient
from wirekit.ftp import FTPRefused, Transfer
from wirekit.http.client.errors import InvalidRequest, InvalidURL, ResourceError
from wirekit.http.client.urls import URL
from wirekit.proto.http import Headers

if TYPE_CHECKING:
    from wirekit.http.client.bodies import Body
    from wirekit.http.client.response import Response
    from wirekit.http.client.transport import Options, Progress

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
    """A body read from an FTP data connection; the session ends with it."""

    __slots__ = ("client", "progress", "transfer")

    def __init__(self, client: FTPClient, transfer: Transfer, progress: Progress | None) -> None:
        self.client = client
        self.transfer = transfer
        self.progress = progress

    def next_chunk(self) -> bytes | None:
        transfer = self.transfer
        data = transfer.read(_BLOCK)
        if data and self.progress is not None:
            self.progress(transfer.count, transfer.size)
        return data or None

    def finish(self) -> None:
        try:
            self.transfer.close()  # 226, and the size checked
        finally:
            self.client.close()

    def abort(self) -> None:
        try:
            self.transfer.abort()
        finally:
            self.client.close()


def open_ftp(url: URL, timeout: float | None, connect_timeout: float | None = None,
             progress: Progress | None = None) -> Response:
    """A ``Response`` streaming ``url`` from an FTP server (or its listing for a ``.../``).

    ``timeout`` bounds each reply and each wait for data, ``connect_timeout`` (default: the
    same) the control and data connections; ``progress(received, total)`` sees the body
    arrive."""
    from wirekit.http.client.response import Response

    segments = [unquote(s) for s in url.path.split("/")[1:]]
    if any(c in s for s in segments for c in "\r\n\x00"):
        raise InvalidURL(f"CR, LF or NUL in ftp: URL path {url.path!r}")
    *directories, name = segments
    connect = timeout if connect_timeout is None else connect_timeout
    client = FTPClient(url.host, url.port or 21, user=url.username or None,
                       password=url.password,
                       timeouts=Timeouts(connect=connect, read=timeout, write=timeout))
    try:
        client.connect()
        for directory in directories:
            if directory:
                client.cwd(directory)
        if not name:
            transfer = client.open_listing()
            headers = Headers([("Content-Type", "text/plain")])
        else:
            size = _size(client, name)
            transfer = client.open_download(name, size=size)
            fields = [("Content-Type", _content_type(name))]
            if size is not None:
                fields.append(("Content-Length", str(size)))
            headers = Headers(fields)
    except FTPRefused as exc:
        client.close()
        raise ResourceError(f"FTP error for {url.path!r}: {exc.reply}") from None
    except BaseException:
        client.close()
        raise
    return Response(200, headers, url=url.absolute,
                    source=_FTPSource(client, transfer, progress))


def _size(client: FTPClient, name: str) -> int | None:
    try:
        return client.size(name)
    except FTPRefused:
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
    """``ftp:`` URLs as a session transport on ``wirekit.ftp`` (GET only; the read timeout
    bounds each reply and each wait for data, the connect timeout each connection)."""

    def exchange(self, method: str, url: URL, headers: list[tuple[str, str]],
                 body: Body | None, options: Options) -> Response:
        _read_only(method, url, body)
        return open_ftp(url, options.read_timeout, options.connect_timeout,
                        options.download_progress)

    def close(self) -> None:
        pass


FILE_TRANSPORT: Final = FileTransport()
FTP_TRANSPORT: Final = FTPTransport()
