"""From a request path to a script on disk, or a refusal (SECURITY.md C01, C03).

The stdlib's ``CGIHTTPRequestHandler`` decided "is this a CGI request?" on one spelling of the
path and "which file?" on another, and the gap between them disclosed script sources and ran
files outside ``cgi-bin`` (CVE-2011-1015, CVE-2014-4650). Here one normalised list of segments
answers both questions:

* ``PATH_INFO`` (already percent-decoded by the WSGI server, so ``%2f`` is a ``/`` and ``%2e``
  a ``.``) is split on ``/``; empty and ``.`` segments are dropped; NUL, backslash and ``..``
  anywhere mean 404, for script and static paths alike, so no later collapse can move a path
  into or out of ``cgi-bin``.
* A path whose first segments match the CGI prefix *ignoring case* belongs to CGI; only an exact
  match runs anything (``/CGI-BIN/s.py`` is 404, never handed to a static file server).
* Script path segments are plain names (letters, digits, ``._+-``, no leading dot): shell
  metacharacters, spaces and hidden files are 404. The file must be a regular file inside the
  real CGI directory after symlinks are resolved, and executable or of a known interpreter
  suffix; a script is only ever *run*, so its source is never sent.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Refused", "Script", "in_cgi_space", "resolve_script", "split_path"]

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]*\Z")


class Refused(Exception):
    """The path cannot be served; ``status`` is 403 or 404."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Script:
    """A script to run: what to execute and the meta-variables that describe its URL."""

    path: Path  # the script file, symlinks resolved
    argv: tuple[str, ...]  # never includes anything from the request (C03)
    script_name: str  # URL path of the script under the mount point, e.g. "/cgi-bin/env.py"
    path_info: str  # the rest of the URL path, e.g. "/extra/x" (RFC 3875 §4.1.5), or ""


def split_path(path: str) -> tuple[list[str], bool]:
    """Segments of a decoded URL path and whether it ends in ``/``; raises :class:`Refused`."""
    if "\x00" in path or "\\" in path:
        raise Refused(404, "NUL or backslash in path")
    segments = [seg for seg in path.split("/") if seg not in ("", ".")]
    if ".." in segments:
        raise Refused(404, "'..' in path")
    return segments, path.endswith("/")


def in_cgi_space(segments: list[str], prefix: list[str]) -> bool:
    """True when the path is under the CGI prefix in any letter case."""
    head = segments[: len(prefix)]
    return len(head) == len(prefix) and [s.casefold() for s in head] == [
        p.casefold() for p in prefix]


def resolve_script(
    segments: list[str],
    trailing_slash: bool,
    prefix: list[str],
    script_dir: Path,
    interpreters: Mapping[str, str],
) -> Script:
    """The script named by ``segments`` (which :func:`in_cgi_space` accepted), or Refused."""
    if segments[: len(prefix)] != prefix:
        raise Refused(404, "CGI prefix in another letter case")
    real_dir = script_dir.resolve()
    current = real_dir
    rest = segments[len(prefix):]
    for index, name in enumerate(rest):
        if not _NAME.match(name):
            raise Refused(404, f"not a plain script name: {name!r}")
        candidate = current / name
        try:
            info = candidate.stat()
        except OSError:  # missing, not a directory, too long, a symlink loop, no access
            raise Refused(404, "no such script") from None
        real = candidate.resolve()
        if real != real_dir and real_dir not in real.parents:
            raise Refused(403, "script resolves outside the CGI directory")
        if stat.S_ISDIR(info.st_mode):
            current = candidate
            continue
        if not stat.S_ISREG(info.st_mode):
            raise Refused(403, "not a regular file")
        extra = rest[index + 1:]
        path_info = "/" + "/".join(extra) + ("/" if trailing_slash and extra else "")
        return Script(
            path=real,
            argv=_argv(real, interpreters),
            script_name="/" + "/".join(prefix + rest[: index + 1]),
            path_info=path_info if extra else "",
        )
    raise Refused(403, "a directory, not a script")


def _argv(path: Path, interpreters: Mapping[str, str]) -> tuple[str, ...]:
    interpreter = interpreters.get(path.suffix)
    if interpreter is not None:
        return (interpreter, str(path))
    if os.access(path, os.X_OK):
        return (str(path),)
    raise Refused(403, "script is not executable")
