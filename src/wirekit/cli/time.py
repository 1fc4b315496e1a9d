"""``wirekit time``: the course's time server (slide 1-14): send the time, then close."""

from __future__ import annotations

from typing import Any

import click

from wirekit.cli.serving import run_server, server_options
from wirekit.server.services import DatagramTimeHandler, TimeHandler

DEFAULT_PORT = 8037


@click.command(epilog="""\b
Examples:
  wirekit time                                 # 127.0.0.1:8037
  wirekit time --concurrency fork              # a process per client, as in the course
  wirekit time --udp                           # answers any datagram with the time
Try it with: wirekit connect 127.0.0.1:8037
""")
@server_options(DEFAULT_PORT)
def command(**options: Any) -> None:
    """Serve the time: each client receives the current time as text and is disconnected."""
    run_server("time", TimeHandler, DatagramTimeHandler, options, DEFAULT_PORT)
