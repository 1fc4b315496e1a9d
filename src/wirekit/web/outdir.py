"""Writing the built site into OUT, and nowhere else.

* **Never outside OUT.** Each directory on the way to a file is checked before it is used: a
  symlink already in OUT that points out of it is refused (:class:`OutputError`), so a build
  cannot be turned into a write anywhere on the disk. The file itself is replaced by rename,
  which replaces a symlink rather than writing through it.
* **Atomic.** A file is written to a hidden temporary name beside it, then renamed over the old
  one (``os.replace``), so a server reading OUT while ``--watch`` rebuilds sees the old page or
  the new one, never half of one. The temporary name starts with a dot, which the static
  server does not serve.
* **Unchanged files are left alone.** Same bytes, no write: the modification time, and with it
  the ``ETag``/``Last-Modified`` a browser cached, stays valid.
* **``--clean`` deletes only what a build made.** Each build leaves :data:`MARKER` in OUT.
  Cleaning deletes the files in OUT that this build did not write, and refuses a non-empty
  OUT without the marker: ``wirekit build site ~ --clean`` must not empty a home directory.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Final

from wirekit.errors import ConfigError
from wirekit.web.errors import BuildError, OutputError

__all__ = ["MARKER", "OutDir", "check_cleanable"]

MARKER: Final = ".wirekit-build"
COMPARE_BLOCK: Final = 64 * 1024
MARKER_TEXT: Final = (b"This directory is written by `wirekit build`; `wirekit build --clean` "
                      b"deletes the files in it that the build did not make.\n")


def check_cleanable(root: Path) -> None:
    """Refuse ``--clean`` on a directory that holds files no build of wirekit made."""
    if not root.is_dir() or (root / MARKER).is_file() or not any(root.iterdir()):
        return
    raise ConfigError(f"--clean would delete files in {root} that wirekit build did not "
                      f"make (it has no {MARKER} file); pick an empty or new directory")


class OutDir:
    """The output directory ``root`` (absolute and resolved); paths given are relative."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, rel: Path, data: bytes) -> bool:
        """Put ``data`` at ``rel``; False if the file already held exactly that."""
        target = self._prepare(rel)
        if _is_file(target) and target.stat().st_size == len(data) \
                and target.read_bytes() == data:
            return False
        self._replace(target, lambda temporary: temporary.write_bytes(data))
        return True

    def copy(self, rel: Path, source: Path) -> bool:
        """Copy ``source`` (content, mode and times) to ``rel``; False if already identical.

        The mode is kept so that a CGI script stays executable where it is served.
        """
        target = self._prepare(rel)
        if _is_file(target) and _same_bytes(source, target):
            return False
        self._replace(target, lambda temporary: shutil.copy2(source, temporary))
        return True

    def clean(self, keep: set[Path]) -> list[Path]:
        """Delete every file under OUT not in ``keep`` (nor the marker), then empty folders."""
        removed: list[Path] = []
        for here, dirs, files in os.walk(self.root, topdown=False, followlinks=False):
            folder = Path(here)
            for name in [*files, *(d for d in dirs if (folder / d).is_symlink())]:
                rel = (folder / name).relative_to(self.root)
                if rel not in keep and rel != Path(MARKER):
                    self._unlink(folder / name)
                    removed.append(rel)
            if folder != self.root and not any(folder.iterdir()):
                folder.rmdir()
        return sorted(removed)

    def _prepare(self, rel: Path) -> Path:
        """Create the folders of ``rel`` under OUT, refusing any path that leaves it."""
        folder = self.root
        for part in rel.parts[:-1]:
            folder = folder / part
            if folder.is_symlink() and not folder.resolve().is_relative_to(self.root):
                raise OutputError("a symlink that leaves OUT is in the way; not written "
                                  "through", path=folder)
            try:
                folder.mkdir(exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise OutputError("a file is in the way of a folder", path=folder) from None
            except OSError as exc:
                raise OutputError(f"cannot make the folder: {exc.strerror or exc}", path=folder
                                  ) from None
        target = self.root / rel
        if target.is_dir() and not target.is_symlink():
            raise OutputError("a folder is in the way of a file", path=target)
        return target

    def _replace(self, target: Path, fill: Callable[[Path], object]) -> None:
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            fill(temporary)
            os.replace(temporary, target)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            if exc.filename not in (None, str(temporary), str(target)):  # the source
                raise BuildError(f"cannot read: {exc.strerror or exc}", path=exc.filename
                                 ) from None
            raise OutputError(f"cannot write: {exc.strerror or exc}", path=target) from None

    def _unlink(self, path: Path) -> None:
        try:
            path.unlink()
        except OSError as exc:
            raise OutputError(f"cannot delete: {exc.strerror or exc}", path=path) from None


def _same_bytes(source: Path, target: Path) -> bool:
    """True if both files hold the same bytes. Not ``filecmp.cmp``: its module-wide cache
    trusts size and mtime, and a file saved twice in one tick would look unchanged."""
    try:
        if source.stat().st_size != target.stat().st_size:
            return False
        with open(source, "rb") as one, open(target, "rb") as two:
            while block := one.read(COMPARE_BLOCK):
                if block != two.read(COMPARE_BLOCK):
                    return False
    except OSError as exc:
        raise BuildError(f"cannot read: {exc.strerror or exc}", path=source) from None
    return True


def _is_file(path: Path) -> bool:
    """A regular file, not a symlink to one (a link is replaced, never compared through)."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False
