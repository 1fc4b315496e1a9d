"""``wirekit connections``: netstat (course slide 1-6) with filters and JSON output."""

from __future__ import annotations

import json

import click

from wirekit.net.connections import list_sockets


@click.command(epilog="""\b
Examples:
  wirekit connections                   # every socket
  wirekit connections -tl               # TCP servers (-t TCP, -u UDP, -x Unix, -l listening)
  wirekit connections -tulpn            # as with ss and netstat: -n and -p are always on
  wirekit connections --port 8000 --json
""")
@click.option("-l", "--listening", is_flag=True,
              help="Only listening sockets (and bound UDP or Unix datagram ones).")
@click.option("-t", "--tcp", is_flag=True, help="TCP sockets (with -u/-x: those too).")
@click.option("-u", "--udp", is_flag=True, help="UDP sockets.")
@click.option("-x", "--unix", is_flag=True, help="Unix sockets.")
@click.option("--port", type=click.IntRange(0, 65535), help="Only sockets using this port.")
@click.option("--kind", type=click.Choice(["all", "inet", "tcp", "udp", "unix"]),
              help="Which socket families and types to list [default: all].")
@click.option("-n", "--numeric", is_flag=True, hidden=True)  # ss/netstat: always numeric here
@click.option("-p", "--processes", is_flag=True, hidden=True)  # ss/netstat: always shown here
@click.option("-a", "--all", "all_", is_flag=True, hidden=True)  # netstat -a: the default
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
def command(listening: bool, tcp: bool, udp: bool, unix: bool, port: int | None,
            kind: str | None, numeric: bool, processes: bool, all_: bool,
            as_json: bool) -> None:
    """List sockets: protocol, local and remote address, state, and owning process.

    The flags mean what they mean to ss and netstat: -t/-u/-x choose TCP, UDP and Unix,
    -l listening sockets; -n and -p are accepted (addresses are always numeric and
    processes always shown). The owning process of another user's socket is visible only to
    root. The port filter is --port (netstat's -p is the process column).
    """
    chosen = [name for name, on in (("tcp", tcp), ("udp", udp), ("unix", unix)) if on]
    if chosen and kind is not None:
        raise click.UsageError("give either --kind or -t/-u/-x")
    sockets = list_sockets(listening=listening, port=port,
                           kinds=chosen if chosen else kind or "all")
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
