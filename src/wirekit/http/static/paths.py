"""From a WSGI ``PATH_INFO`` to a file under the served root, with nothing outside reachable.

Every static server that has had a traversal CVE (Apache CVE-2021-41773, aiohttp
CVE-2024-23334, the open redirect of CPython's ``http.server``, CVE-2021-28861) failed in one of
two places: it decoded the path *after* checking it, or it trusted the filesystem to stay inside
the root. So resolution here is two strict steps:

1. :func:`url_segments` works on the already decoded path (PEP 3333: ``PATH_INFO`` holds the
   percent-decoded bytes as a latin-1 ``str``, so ``%2e%2e%2f`` has become ``../`` before we
   look) and collapses it lexically into plain names: ``.`` and empty segments vanish, ``..``
   pops one name and may never climb above the root, and NUL bytes (400) and backslashes (404,
   a separator elsewhere) are refused. A name can never be ``..``, contain ``/`` or be empty,
   so joining them to the root cannot leave it. Double-encoded ``%252e`` arrives as the literal
   name ``%2e`` and simply does not exist.
2. :func:`resolve` walks the names with ``lstat`` from the root down (one system call a level,
   nothing cached, so nothing goes stale). A symbolic link is the only way out of the root left;
   each one met is resolved with ``realpath`` and refused when it lands outside the root,
   unless the caller opted into ``follow_symlinks``. FIFOs, sockets and devices are never
   files to serve.
3. :func:`open_checked` opens the file and checks *what was opened*: a directory on the way
   can be swapped for a symbolic link between step 2 and the ``open`` (``O_NOFOLLOW`` guards
   only the last name), so the descriptor's own path (``/proc/self/fd``) must still lie under
   the root and outside the private directories. Where ``/proc`` is missing, the names are
   opened one by one from a descriptor of the root (``openat`` with ``O_NOFOLLOW``), and no
   link is followed at all.
"""

from __future__ import annotations

import os
import stat
from typing import NamedTuple

__all__ = ["PathRefused", "Resolved", "collapse_segments", "inside", "open_checked", "resolve",
           "url_segments"]

_OPEN = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK
_DIRECTORY = os.O_RDONLY | os.O_CLOEXEC | os.O_DIRECTORY | os.O_NOFOLLOW
_PROC_FD = "/proc/self/fd/"
_HAVE_PROC = os.path.isdir(_PROC_FD)


class PathRefused(Exception):
    """The request path cannot name anything under the root; ``status`` is the answer."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Resolved(NamedTuple):
    """A path under the root that passed every check, with the ``stat`` of what it names."""

    path: str
    stat: os.stat_result
    #: True when the last name is itself a symlink (allowed); the file is then opened without
    #: ``O_NOFOLLOW``.
    is_link: bool


def url_segments(path_info: str) -> list[str]:
    """Turn a decoded ``PATH_INFO`` into the list of names it designates under the root.

    Raises :class:`PathRefused` (400 for NUL or a ``PATH_INFO`` that is not latin-1, 404 for
    backslashes and for ``..`` climbing above the root). Names come back as filesystem strings
    (``os.fsdecode`` of the UTF-8 bytes, so undecodable bytes survive as surrogates and still
    find a file with that exact byte name).
    """
    # The common case, taken without decoding or a loop: an ASCII path with no empty, dot or
    # dot-dot segment (no "//", no "/." at all, so also no dotfile) and nothing to refuse.
    # Its answer is the one collapse_segments() would give (a property test checks).
    if (path_info[:1] == "/" and path_info.isascii() and "/." not in path_info
            and "//" not in path_info and "\\" not in path_info and "\x00" not in path_info):
        names = path_info[1:].split("/")
        if not names[-1]:
            names.pop()  # the trailing slash of a directory (or "/" itself)
        return names
    return collapse_segments(path_info)


def collapse_segments(path_info: str) -> list[str]:
    """The general case of :func:`url_segments`: decode, refuse, collapse dot segments."""
    if "\x00" in path_info:
        raise PathRefused(400)
    try:
        raw = path_info.encode("latin-1")
    except UnicodeEncodeError:
        raise PathRefused(400) from None
    names: list[str] = []
    for name in os.fsdecode(raw).split("/"):
        if name in ("", "."):
            continue
        if name == "..":
            if not names:
                raise PathRefused(404)
            names.pop()
            continue
        if "\\" in name:
            raise PathRefused(404)
        names.append(name)
    return names


def inside(root: str, real: str) -> bool:
    """True when the canonical path ``real`` is ``root`` or lies below it."""
    return real == root or real.startswith(root + os.sep) or root == os.sep


def resolve(root: str, base: str, names: list[str], *, follow_symlinks: bool) -> Resolved:
    """Walk ``names`` down from ``base`` (``root`` or a directory under it) and check each step.

    ``root`` must be canonical (``os.path.realpath``). Raises :class:`PathRefused`: 404 for
    anything missing, a link leaving the root, or a special file; 403 when permission is denied.
    """
    path = base.rstrip(os.sep)
    st = None
    is_link = False
    try:
        for name in names:
            path = f"{path}{os.sep}{name}"
            st = os.lstat(path)
            is_link = stat.S_ISLNK(st.st_mode)
            if is_link:
                if not follow_symlinks and not inside(root, os.path.realpath(path)):
                    raise PathRefused(404)
                st = os.stat(path)  # the target; ELOOP and dangling links fail here
        if st is None:
            st = os.stat(path or os.sep)
    except PermissionError:
        raise PathRefused(403) from None
    except (OSError, ValueError):
        raise PathRefused(404) from None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise PathRefused(404)
    return Resolved(path or os.sep, st, is_link)


def open_checked(root: str, found: Resolved, *, follow_symlinks: bool,
                 private: list[str] | tuple[str, ...] = ()) -> int:
    """Open the file :func:`resolve` found and prove the descriptor is still under ``root``.

    Returns a read-only descriptor; raises :class:`PathRefused` (404) when the file is gone or
    what was opened lies outside the root (or inside a private directory) because the tree
    changed after the check."""
    if not _HAVE_PROC:
        return _open_by_names(root, found.path)
    try:
        fd = os.open(found.path, _OPEN if found.is_link else _OPEN | os.O_NOFOLLOW)
    except OSError:
        raise PathRefused(404) from None  # gone, or swapped for a link, since the check
    try:
        real = os.readlink(f"{_PROC_FD}{fd}")
        if ((not follow_symlinks and not inside(root, real))
                or any(inside(directory, real) for directory in private)):
            raise PathRefused(404)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_by_names(root: str, path: str) -> int:
    """Without ``/proc``: open each name below ``root`` relative to its parent's descriptor,
    refusing any symbolic link, so no swap can lead out."""
    relative = os.path.relpath(path, root)
    names = [] if relative == "." else relative.split(os.sep)
    directory = os.open(root, _DIRECTORY)
    try:
        for name in names[:-1]:
            parent, directory = directory, os.open(name, _DIRECTORY, dir_fd=directory)
            os.close(parent)
        if not names:
            return os.dup(directory)
        return os.open(names[-1], _OPEN | os.O_NOFOLLOW, dir_fd=directory)
    except OSError:
        raise PathRefused(404) from None
    finally:
        os.close(directory)
