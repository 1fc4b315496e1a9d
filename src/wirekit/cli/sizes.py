"""Byte sizes on the command line: ``--max-body 512M`` as nginx and gunicorn users write them."""

from __future__ import annotations

import re
from typing import Any, Final

import click

__all__ = ["BYTE_SIZE", "ByteSize", "parse_size"]

_UNITS: Final = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE: Final = re.compile(r"\s*([0-9]+)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``"10M"`` -> 10485760: a whole number of bytes with an optional K, M, G or T (powers
    of 1024; ``KB``, ``KiB`` and lower case read the same). Raises ``ValueError``."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size (examples: 1048576, 512K, 100M, 2G)")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


class ByteSize(click.ParamType):
    """A click parameter type for :func:`parse_size` (at least 1 byte)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            size = parse_size(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if size < 1:
            self.fail("must be at least 1 byte", param, ctx)
        return size


BYTE_SIZE: Final = ByteSize()
