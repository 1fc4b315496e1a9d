"""``wirekit lookup``: the course's gethostbyname / gethostbyaddr (slide 1-53) as a command."""

from __future__ import annotations

import json
import socket

import click

from wirekit.errors import LookupFailed
from wirekit.net import lookup

FAMILIES = {"any": socket.AF_UNSPEC, "ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}


def _service(value: str, protocol: str) -> dict[str, object]:
    if value.isdigit():
        return {"port": int(value), "protocol": protocol,
                "service": lookup.service_name(int(value), protocol)}
    return {"service": value, "protocol": protocol, "port": lookup.service_port(value, protocol)}


def _host(value: str, family: int) -> dict[str, object]:
    if lookup.is_ip(value):
        name, aliases = lookup.reverse(value)
        return {"query": value, "name": name, "aliases": aliases,
                "addresses": _addresses_or_empty(name, family)}
    return {"query": value, "name": value, "aliases": [],
            "addresses": lookup.resolve(value, family)}


def _addresses_or_empty(name: str, family: int) -> list[str]:
    try:
        return lookup.resolve(name, family)
    except LookupFailed:
        return []


@click.command(epilog="""\b
Examples:
  wirekit lookup localhost            # name -> every IPv4 and IPv6 address
  wirekit lookup ::1                  # address -> name (reverse)
  wirekit lookup --family ipv4 localhost
  wirekit lookup --service http       # service name -> port (from /etc/services)
  wirekit lookup --service 25         # port -> service name
""")
@click.argument("name_or_ip")
@click.option("--family", type=click.Choice(sorted(FAMILIES)), default="any", show_default=True,
              help="Only addresses of this family.")
@click.option("--service", "is_service", is_flag=True,
              help="Look up a service name or port in the services database instead.")
@click.option("--protocol", type=click.Choice(["tcp", "udp"]), default="tcp", show_default=True,
              help="Protocol for --service.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def command(name_or_ip: str, family: str, is_service: bool, protocol: str, as_json: bool) -> None:
    """Resolve NAME_OR_IP: a host name to its addresses, or an address to its name."""
    if not name_or_ip.strip() or any(c.isspace() for c in name_or_ip):
        raise click.BadParameter(f"{name_or_ip!r} is not a host name or address",
                                 param_hint="NAME_OR_IP")
    result = (_service(name_or_ip, protocol) if is_service
              else _host(name_or_ip, FAMILIES[family]))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        if key == "query":
            continue
        shown = " ".join(map(str, value)) if isinstance(value, list) else value
        click.echo(f"{key:<10} {shown}")
