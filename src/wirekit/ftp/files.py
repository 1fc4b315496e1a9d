"""Whole-file transfers: ``Client.download`` and ``Client.upload``, streamed, resumable, with
progress.

Memory stays flat: a download reads into one preallocated block and writes slices of it; an
upload from a regular file over a plain data connection goes by ``sendfile(2)`` (the kernel
copies from the page cache to the socket), and otherwise reads into one block. A 1 GiB file
costs one block either way.

Resuming (RFC 3659 §5):

=========  =================================================================================
download   the local file's size N is the offset: ``REST N`` then ``RETR``, appended. A file
           already as long as the remote one (SIZE) is complete; a longer one, or a server
           that refuses REST, is downloaded again from the start.
upload     the remote file's size N (SIZE; none means 0) is the offset: ``REST N`` then
           ``STOR`` when FEAT lists ``REST STREAM``, else ``APPE``; the local file is read
           from N.
=========  =================================================================================

``progress(done, total)`` counts the bytes of the file at the destination, resumed ones
included, so a bar that restarts shows where the file is, not only this session's share.
"""

from __future__ import annotations

import os
import stat
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from wirekit.errors import ConfigError
from wirekit.ftp.datalink import BLOCK
from wirekit.ftp.errors import FTPRefused

if TYPE_CHECKING:
    from wirekit.ftp.client import Client, Progress
    from wirekit.ftp.transfer import Transfer

__all__ = ["download", "upload"]

#: sendfile(2) calls between two progress reports.
_SENDFILE_STEP = 4 * 1024 * 1024


def remote_size(client: Client, path: str) -> int | None:
    """SIZE, or ``None`` when the server will not say (no such file, or no SIZE)."""
    try:
        return client.size(path)
    except FTPRefused:
        return None


def download(client: Client, remote: str, local: str | PathLike[str] | BinaryIO,
             resume: bool, progress: Progress | None) -> int:
    size = remote_size(client, remote)
    if isinstance(local, str | PathLike):
        path = Path(local)
        offset = path.stat().st_size if resume and path.is_file() else 0
        if size is not None and offset >= size:
            if offset == size:  # already complete: nothing to ask for
                if progress is not None:
                    progress(size, size)
                return 0
            offset = 0  # longer than the remote file: not a prefix of it
        if offset:
            with open(path, "ab", buffering=0) as out:
                return _receive(client, remote, out, offset, size, progress)
        transfer = client.open_download(remote, size=size)  # a refusal leaves no empty file
        try:
            out = open(path, "wb", buffering=0)  # noqa: SIM115 - closed below
        except BaseException:
            transfer.abort()
            raise
        with out:
            return _copy(transfer, out, 0, size, progress)
    offset = local.tell() if resume else 0
    return _receive(client, remote, local, offset, size, progress)


def _receive(client: Client, remote: str, out: BinaryIO, offset: int, size: int | None,
             progress: Progress | None) -> int:
    try:
        transfer = client.open_download(remote, offset=offset, size=size)
    except FTPRefused as exc:
        if not offset or not exc.command.startswith("REST"):
            raise
        out.seek(0)  # the server cannot resume: the whole file again
        out.truncate(0)
        offset = 0
        transfer = client.open_download(remote, size=size)
    return _copy(transfer, out, offset, size, progress)


def _copy(transfer: Transfer, out: BinaryIO, offset: int, size: int | None,
          progress: Progress | None) -> int:
    with transfer:
        buffer = bytearray(BLOCK)
        view = memoryview(buffer)
        done = offset
        while n := transfer.readinto(buffer):
            _write_all(out, view[:n])
            done += n
            if progress is not None:
                progress(done, size)
    return transfer.count


def _write_all(out: BinaryIO, data: memoryview) -> None:
    """``out.write`` until all of ``data`` is written (a raw file may take less)."""
    while data:
        written = out.write(data)
        if written is None or written >= len(data):
            return
        data = data[written:]


def upload(client: Client, local: str | PathLike[str] | BinaryIO, remote: str, resume: bool,
           progress: Progress | None) -> int:
    if isinstance(local, str | PathLike):
        with open(local, "rb", buffering=0) as source:
            return _send(client, source, remote, resume, progress)
    return _send(client, local, remote, resume, progress)


def _send(client: Client, source: BinaryIO, remote: str, resume: bool,
          progress: Progress | None) -> int:
    regular, total = _regular_size(source)
    offset = 0
    if resume:
        if total is None:
            raise ConfigError("resuming an upload needs a regular file to read from")
        offset = remote_size(client, remote) or 0
        if offset >= total:
            if offset == total:
                if progress is not None:
                    progress(total, total)
                return 0
            offset = 0  # the remote file is longer: start it over
    start = offset if resume else _position(source)
    stream_rest = client.features.get("REST", "").upper().startswith("STREAM")
    append = bool(offset) and not stream_rest
    with client.open_upload(remote, offset=0 if append else offset, append=append) as transfer:
        if regular and not transfer.data.is_tls:
            _send_file(transfer, source, start, total, progress)
        else:
            _send_blocks(transfer, source, start, total, progress)
    return transfer.count


def _position(source: BinaryIO) -> int:
    """Where ``source`` stands (a pipe has no position: 0)."""
    try:
        return source.tell()
    except (AttributeError, OSError):
        return 0


def _regular_size(source: BinaryIO) -> tuple[bool, int | None]:
    """Whether ``source`` is a regular file (sendfile works), and its size when known."""
    try:
        info = os.fstat(source.fileno())
    except (AttributeError, OSError, ValueError):
        return False, None
    if stat.S_ISREG(info.st_mode):
        return True, info.st_size
    return False, None


def _send_file(transfer: Transfer, source: BinaryIO, start: int, total: int | None,
               progress: Progress | None) -> None:
    position = start
    while sent := transfer.sendfile(source, position, _SENDFILE_STEP):
        position += sent
        if progress is not None:
            progress(position, total)


def _send_blocks(transfer: Transfer, source: BinaryIO, start: int, total: int | None,
                 progress: Progress | None) -> None:
    if start and source.seekable():
        source.seek(start)
    buffer = bytearray(BLOCK)
    view = memoryview(buffer)
    done = start
    while n := source.readinto(buffer):  # type: ignore[attr-defined]  # BinaryIO lacks it; files have it
        transfer.write(view[:n])
        done += n
        if progress is not None:
            progress(done, total)
