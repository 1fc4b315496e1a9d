"""``wirekit connections``: netstat (course slide 1-6) with filters and JSON output."""

from __future__ import annotations

import json

import click

from wirekit.net.connections import list_sockets


@click.command(epilog="""\b
Examples:
  wirekit connections                   # every socket
  wirekit connections --listening       # servers only
  wirekit connections --port 8000 --json
  wirekit connections --kind unix
""")
@click.option("-l", "--listening", is_flag=True, help="Only listening (and bound UDP) sockets.")
@click.option("-p", "--port", type=click.IntRange(0, 65535), help="Only sockets using this port.")
@click.option("--kind", type=click.Choice(["all", "inet", "tcp", "udp", "unix"]), default="all",
              show_default=True, help="Which socket families and types to list.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
def command(listening: bool, port: int | None, kind: str, as_json: bool) -> None:
    """List sockets: protocol, local and remote address, state, and owning process.

    The owning process of another user's socket is visible only to root.
    """
    sockets = list_sockets(listening=listening, port=port, kinds=kind)
    if as_json:
        click.echo(json.dumps([s.as_dict() for s in sockets], indent=2))
        return
    rows = [("PROTO", "LOCAL", "REMOTE", "STATE", "PID/PROGRAM")]
    for s in sockets:
        owner = f"{s.pid}/{s.process}" if s.pid else "-"
        rows.append((s.protocol, s.local or "-", s.remote or "-", s.state, owner))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:4])]
        click.echo("  ".join([*cells, row[4]]))
