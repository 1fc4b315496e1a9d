"""Options and start-up shared by the commands that run a server (echo, time, ...).

The options are one table: each row becomes a click option and its help text, so every server
command offers the same flags with the same words.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Callable
from typing import Any

import click

from wirekit.config import DEFAULT_TIMEOUTS
from wirekit.errors import ConfigError, InvalidAddress
from wirekit.net.address import Address
from wirekit.server import Server
from wirekit.server.handlers import Handler
from wirekit.server.modes import MODES

LOG_LEVELS = ["debug", "info", "warning", "error"]

SERVER_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--bind", "-b"), {"default": "127.0.0.1", "show_default": True, "metavar": "ADDR",
                        "help": "Interface to listen on: an IP, a name, '' for all, "
                                "or HOST:PORT."}),
    (("--port", "-p"), {"type": click.IntRange(0, 65535), "metavar": "P",
                        "help": "Port to listen on (0 picks a free one) [default: {port}]."}),
    (("--udp",), {"is_flag": True, "help": "Serve UDP datagrams instead of TCP."}),
    (("--unix",), {"metavar": "PATH", "help": "Listen on a Unix socket at PATH instead."}),
    (("--concurrency", "-c"), {"type": click.Choice(list(MODES)), "default": "threads",
                               "show_default": True, "help": "How clients are served at once."}),
    (("--workers", "-w"), {"type": click.IntRange(min=1), "metavar": "N",
                           "help": "Threads (threads), children (fork), processes (prefork) or "
                                   "connections (async)."}),
    (("--reuse-port",), {"is_flag": True,
                         "help": "prefork: each worker listens on its own SO_REUSEPORT socket "
                                 "and the kernel spreads clients evenly."}),
    (("--allow",), {"multiple": True, "metavar": "CIDR",
                    "help": "Only serve these addresses or networks (repeatable)."}),
    (("--deny",), {"multiple": True, "metavar": "CIDR",
                   "help": "Refuse these addresses or networks (repeatable)."}),
    (("--idle-timeout",), {"type": click.FloatRange(min=0, min_open=True), "metavar": "S",
                           "default": DEFAULT_TIMEOUTS.idle, "show_default": True,
                           "help": "Close a connection silent for S seconds."}),
    (("--log-level",), {"type": click.Choice(LOG_LEVELS), "default": "info", "show_default": True,
                        "help": "Log verbosity (one line per connection at info)."}),
]


def server_options(default_port: int, exclude: tuple[str, ...] = (),
                   overrides: dict[str, dict[str, Any]] | None = None,
                   ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the shared options to a command (minus ``exclude``; ``overrides`` replaces the
    settings of an option, keyed by its first name)."""
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for names, settings in reversed(SERVER_OPTIONS):
            if names[0] in exclude:
                continue
            merged = {**settings, **(overrides or {}).get(names[0], {})}
            text = merged["help"].format(port=default_port)
            fn = click.option(*names, **{**merged, "help": text})(fn)
        return fn

    return decorate


def listen_address(bind: str, port: int | None, unix: str | None, default_port: int) -> Address:
    if unix:
        if port is not None:
            raise click.UsageError("--unix and --port cannot be combined")
        return Address(path=unix)
    try:
        has_port = (bind.startswith("[") and "]:" in bind) or (
            ":" in bind and not bind.startswith("[") and bind.count(":") == 1)
        if has_port:
            address = Address.parse(bind)  # HOST:PORT or [IPv6]:PORT given in --bind
            if port is not None:
                raise click.UsageError("give the port in --bind or with --port, not both")
            return address
        host = bind.strip("[]")
        if not host:  # '' means every interface
            return Address("", default_port if port is None else port)
        return Address.parse(f"[{host}]" if ":" in host else host,
                             default_port=default_port if port is None else port)
    except InvalidAddress as exc:
        raise click.BadParameter(str(exc), param_hint="--bind") from None


def run_server(name: str, stream_handler: type[Handler], datagram_handler: type[Handler],
               options: dict[str, Any], default_port: int) -> None:
    """Build the server from the shared options, announce its address, serve until signalled."""
    logging.basicConfig(level=options["log_level"].upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    address = listen_address(options["bind"], options["port"], options["unix"], default_port)
    handler = datagram_handler if options["udp"] else stream_handler
    timeouts = dataclasses.replace(DEFAULT_TIMEOUTS, idle=options["idle_timeout"])
    try:
        server = Server(handler, address, concurrency=options["concurrency"],
                        workers=options["workers"], allow=options["allow"],
                        deny=options["deny"], timeouts=timeouts,
                        reuse_port=options["reuse_port"])
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    kind = "unix" if server.address.is_unix else ("udp" if options["udp"] else "tcp")

    def announce() -> None:
        click.echo(f"wirekit {name}: listening on {kind} {server.address} "
                   f"({server.mode}); stop with Ctrl-C")
        sys.stdout.flush()

    server.serve_forever(ready=announce)
