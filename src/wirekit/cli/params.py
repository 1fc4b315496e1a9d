"""click parameter types for wirekit values, so bad input is refused with one clear line."""

from __future__ import annotations

import click

from wirekit.errors import InvalidAddress
from wirekit.net.address import Address

__all__ = ["ADDRESS", "AddressParam"]


class AddressParam(click.ParamType):
    """``host:port``, ``[::1]:port``, ``:port`` or ``unix:/path``."""

    name = "address"

    def __init__(self, default_port: int | None = None) -> None:
        self.default_port = default_port

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None
                ) -> Address:
        if isinstance(value, Address):
            return value
        try:
            return Address.parse(str(value), self.default_port)
        except InvalidAddress as exc:
            self.fail(str(exc), param, ctx)


ADDRESS = AddressParam()
