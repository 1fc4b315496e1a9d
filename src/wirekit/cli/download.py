"""Where ``wirekit get`` saves a body: ``-o FILE``, ``-O`` (named by the URL), ``-C -`` (resume).

Resuming asks for the rest of the file with ``Range: bytes=N-`` (RFC 9110 §14.2) and
``Accept-Encoding: identity``, because a range of a gzip-coded body is a range of the coded
bytes, not of the file. The answer decides what happens to the file:

=====  ===================================================================================
206    the rest: appended, after checking ``Content-Range`` starts at N (RFC 9110 §14.4)
200    the server ignored the range: the whole file, written from the start
416    nothing left to send: the file is already complete (``Content-Range: bytes */N``)
=====  ===================================================================================

``-O`` overwrites an existing file, as curl does; the name is the last segment of the URL's
path, decoded, and never a directory (``..``) or a path (``%2F`` stays inside the name).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from io import BufferedWriter
from pathlib import Path
from typing import Final
from urllib.parse import unquote

from wirekit.cli.exits import FAILURE, WRITE, RequestFailed
from wirekit.http.client import Response

__all__ = ["Target", "make_target", "open_target", "remote_name", "resume_headers"]

_CONTENT_RANGE: Final = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Target:
    """A file to save into; ``offset`` bytes of it are already there when resuming."""

    path: Path
    offset: int = 0


def remote_name(url_path: str) -> str:
    """``-O``'s file name: the last path segment, percent-decoded; refused when empty."""
    name = unquote(url_path.rpartition("/")[2]).replace("/", "_").replace("\\", "_")
    if name in ("", ".", ".."):
        raise RequestFailed(f"-O: the URL path {url_path!r} ends without a file name; "
                            "use -o FILE", WRITE)
    return name


def make_target(path: str, resume: bool) -> Target:
    """The target for ``path``; with ``resume``, what is on disk already is kept."""
    target = Path(path)
    if not resume:
        return Target(target)
    try:
        return Target(target, target.stat().st_size)
    except FileNotFoundError:
        return Target(target)
    except OSError as exc:
        raise RequestFailed(f"cannot resume {path!r}: {exc.strerror}", WRITE) from None


def resume_headers(target: Target) -> list[tuple[str, str]]:
    """Fields that ask for the rest of ``target`` (none when there is nothing yet)."""
    if target.offset == 0:
        return []
    return [("Range", f"bytes={target.offset}-"), ("Accept-Encoding", "identity")]


def open_target(target: Target, response: Response) -> BufferedWriter | None:
    """Open the file for the body of ``response``; ``None`` when the file is complete."""
    mode = "wb"
    if target.offset:
        if response.status == 416:
            _check_complete(target, response.headers.get("content-range", ""))
            return None
        if response.status == 206:
            _check_start(target, response.headers.get("content-range", ""))
            mode = "ab"
    try:
        handle = open(target.path, "ab" if mode == "ab" else "wb")  # noqa: SIM115 - caller closes
    except OSError as exc:
        raise RequestFailed(f"cannot write {os.fspath(target.path)!r}: {exc.strerror}",
                            WRITE) from None
    if mode == "ab" and handle.tell() != target.offset:
        handle.close()
        raise RequestFailed(f"{os.fspath(target.path)!r} changed while resuming", FAILURE)
    return handle


def _check_start(target: Target, content_range: str) -> None:
    match = _CONTENT_RANGE.fullmatch(content_range.strip())
    if match is None or match.group(1) is None or int(match.group(1)) != target.offset:
        raise RequestFailed(f"asked to resume at byte {target.offset}, the server sent "
                            f"Content-Range {content_range!r}", FAILURE)


def _check_complete(target: Target, content_range: str) -> None:
    match = _CONTENT_RANGE.fullmatch(content_range.strip())
    if match is not None and match.group(3).isdigit() and int(match.group(3)) != target.offset:
        raise RequestFailed(f"{os.fspath(target.path)!r} has {target.offset} bytes, the "
                            f"server's copy {match.group(3)}: not resumable", FAILURE)
