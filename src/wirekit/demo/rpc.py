"""The demo's RPC endpoints (section 5): a few course functions on ONE dispatcher, two formats.

    /RPC2       XML-RPC (``xmlrpc.client.ServerProxy``, ``wirekit rpc call``), as
                ``SimpleXMLRPCServer`` answers at its default path
    /jsonrpc    JSON-RPC 2.0 (``wirekit rpc call --jsonrpc``, ``/rpc.html`` from the browser)

Both applications share one :class:`~wirekit.rpc.Dispatcher`, so the same names answer in both
formats, with introspection (``system.listMethods``) and ``system.multicall``. The functions are
pure: nothing a caller sends can touch the server's files or state (``recipes`` reads the
shipped feed, never a path the caller names).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from wirekit.data import parse
from wirekit.rpc import Dispatcher, JSONRPCApp, XMLRPCApp

__all__ = ["demo_dispatcher", "rpc_apps"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

RECIPES = Path(__file__).resolve().parent / "site" / "feeds" / "recipes.xml"


def add(a: int, b: int) -> int:
    """Return a + b (the first function of slides 5-20..5-25)."""
    return a + b


def sub(a: int, b: int) -> int:
    """Return a - b."""
    return a - b


def echo(value: Any) -> Any:
    """Return the value sent, as the server decoded it (try a list or a struct)."""
    return value


def now() -> str:
    """The server's time, UTC, as ISO 8601 text (the same in both formats)."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def recipes() -> list[dict[str, Any]]:
    """The recipes of /feeds/recipes.xml: title and ingredients of each, read on the server."""
    found = []
    for recipe in parse(RECIPES).getroot().iter("recipe"):
        items = [" ".join(filter(None, (item.get("num"), item.get("units"),
                                        (item.text or "").strip())))
                 for item in recipe.iterfind("ingredients/item")]
        found.append({"title": recipe.findtext("title", "").strip(), "ingredients": items})
    return found


def demo_dispatcher() -> Dispatcher:
    """``add``, ``sub``, ``echo``, ``now`` and ``recipes``, with ``system.*``."""
    dispatcher = Dispatcher()
    for function in (add, sub, echo, now, recipes):
        dispatcher.register(function)
    return dispatcher


def rpc_apps(dispatcher: Dispatcher | None = None) -> dict[str, WSGIApp]:
    """``{"/RPC2": XML-RPC, "/jsonrpc": JSON-RPC}`` over one dispatcher, to mount."""
    shared = dispatcher if dispatcher is not None else demo_dispatcher()
    return {"/RPC2": XMLRPCApp(shared), "/jsonrpc": JSONRPCApp(shared)}
