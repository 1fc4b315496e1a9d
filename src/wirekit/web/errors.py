"""Why a site build stopped, by cause, in the one tree rooted at :class:`~wirekit.WirekitError`::

    BuildError                          a build stopped; ``path`` and ``line`` say where
    ├── TemplateError (ValueError)      a template or its data cannot be rendered: a missing
    │                                   variable, a ``$`` that starts no name, bad JSON or CSV
    └── OutputError (OSError)           OUT cannot be written (permissions, a full disk, a
                                        symlink in OUT that leaves it)

A bad argument (SRC missing, OUT inside SRC) is a :class:`~wirekit.ConfigError`, raised before
anything is read or written. The message always starts with the file and the line, the way a
compiler says it (``site/index.html:4: ...``), so an editor can jump there.
"""

from __future__ import annotations

from pathlib import Path

from wirekit.errors import WirekitError

__all__ = ["BuildError", "OutputError", "TemplateError"]


class BuildError(WirekitError):
    """A build stopped at ``path`` (and ``line``, 1-based, when one line is to blame).

    Raised as is when a source file cannot be read; the subclasses say the other causes.
    """

    def __init__(self, message: str, *, path: Path | str | None = None,
                 line: int | None = None) -> None:
        where = "" if path is None else str(path) + ("" if line is None else f":{line}")
        super().__init__(f"{where}: {message}" if where else message)
        self.path = None if path is None else Path(path)
        self.line = line
        self.reason = message


class TemplateError(BuildError, ValueError):
    """A template or its data cannot be rendered; ``name`` is the variable at fault, if any."""

    def __init__(self, message: str, *, path: Path | str | None = None,
                 line: int | None = None, name: str | None = None) -> None:
        super().__init__(message, path=path, line=line)
        self.name = name


class OutputError(BuildError, OSError):
    """A file under OUT cannot be written, or writing it would leave OUT."""
