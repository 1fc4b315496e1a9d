"""``wirekit http METHOD URL [items ...]``: any method (see :mod:`wirekit.cli.fetch`)."""

from wirekit.cli.fetch import http_command as command

__all__ = ["command"]
