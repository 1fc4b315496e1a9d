"""``wirekit echo``: an echo server (RFC 862) with any concurrency mode."""

from __future__ import annotations

from typing import Any

import click

from wirekit.cli.serving import run_server, server_options
from wirekit.server.services import DatagramEchoHandler, EchoHandler

DEFAULT_PORT = 7007


@click.command(epilog="""\b
Examples:
  wirekit echo                                 # 127.0.0.1:7007, thread pool
  wirekit echo --port 0 --concurrency async    # a free port, asyncio (uvloop)
  wirekit echo --concurrency prefork -w 4      # four worker processes
  wirekit echo --udp --port 9999
  wirekit echo --unix /tmp/echo.sock
  wirekit echo --bind '' --allow 192.168.1.0/24   # all interfaces, one network only
Try it with: wirekit connect 127.0.0.1:7007
""")
@server_options(DEFAULT_PORT)
def command(**options: Any) -> None:
    """Serve an echo service: every byte a client sends comes back.

    Prints the address it listens on, logs one line per connection, and stops cleanly on
    Ctrl-C or SIGTERM (running connections get a grace period).
    """
    run_server("echo", EchoHandler, DatagramEchoHandler, options, DEFAULT_PORT)
