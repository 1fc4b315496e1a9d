"""The sockets on this machine, like ``netstat`` (course slide 1-6).

Built on psutil, which reads ``/proc`` and maps sockets to processes; a process owned by another
user is shown without its pid unless we are root, which is how netstat behaves too.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import psutil

from wirekit.errors import NetworkError

__all__ = ["SocketInfo", "list_sockets"]

_PROTOCOLS = {
    (socket.AF_INET, socket.SOCK_STREAM): "tcp",
    (socket.AF_INET6, socket.SOCK_STREAM): "tcp6",
    (socket.AF_INET, socket.SOCK_DGRAM): "udp",
    (socket.AF_INET6, socket.SOCK_DGRAM): "udp6",
    (socket.AF_UNIX, socket.SOCK_STREAM): "unix",
    (socket.AF_UNIX, socket.SOCK_DGRAM): "unix-dgram",
    (socket.AF_UNIX, socket.SOCK_SEQPACKET): "unix-seqpacket",
}


@dataclass(frozen=True, slots=True)
class SocketInfo:
    """One socket: protocol, endpoints as text, TCP state, and the owner where visible."""

    protocol: str
    local: str
    remote: str
    state: str
    pid: int | None
    process: str | None

    @property
    def listening(self) -> bool:
        # A bound UDP or Unix socket with no peer is the datagram equivalent of LISTEN.
        return self.state == "LISTEN" or (self.state == "NONE" and not self.remote
                                          and self.protocol.startswith(("udp", "unix-dgram")))

    @property
    def local_port(self) -> int | None:
        _, sep, port = self.local.rpartition(":")
        if not sep or not port.isdigit() or self.protocol.startswith("unix"):
            return None
        return int(port)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


_ACCEPTCON = 0x10000  # the flag of a listening socket in /proc/net/unix
_UNIX_STATES = {"01": "NONE", "02": "CONNECTING", "03": "CONNECTED", "04": "DISCONNECTING"}


def _unix_stream_states() -> dict[str, list[str]]:
    """The states of named Unix stream sockets, by path, from the kernel's ``/proc/net/unix``
    (a listener and the connections it accepted share a path; each gets one state)."""
    states: dict[str, list[str]] = {}
    try:
        with open("/proc/net/unix", encoding="utf-8", errors="surrogateescape") as table:
            next(table, None)
            for line in table:
                fields = line.split(None, 7)
                if len(fields) < 8 or fields[4] != "0001":  # SOCK_STREAM with a path
                    continue
                path = fields[7].rstrip("\n")
                listening = int(fields[3], 16) & _ACCEPTCON
                state = "LISTEN" if listening else _UNIX_STATES.get(fields[5], "NONE")
                states.setdefault(path, []).append(state)
    except OSError:
        return {}
    for found in states.values():
        found.sort(key=lambda state: state == "LISTEN")  # last: pop() hands LISTEN out first
    return states


def _format(family: int, endpoint: str | tuple[Any, ...]) -> str:
    """psutil's ``laddr``/``raddr``: a path for AF_UNIX, ``(ip, port)`` or ``()`` otherwise."""
    if not endpoint:
        return ""
    if family == socket.AF_UNIX or isinstance(endpoint, str):
        return str(endpoint)
    ip, port = endpoint
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _process_names(pids: Iterable[int]) -> dict[int, str]:
    names = {}
    for pid in set(pids):
        try:
            names[pid] = psutil.Process(pid).name()
        except (psutil.Error, OSError):
            continue
    return names


def list_sockets(*, listening: bool = False, port: int | None = None,
                 kinds: str | Iterable[str] = "all") -> list[SocketInfo]:
    """Sockets of ``kinds`` (``"inet"``, ``"tcp"``, ``"udp"``, ``"unix"`` or ``"all"``, or
    several of them), optionally only listening ones or those with ``port`` at either end."""
    try:
        raw = [conn for kind in ([kinds] if isinstance(kinds, str) else kinds)
               for conn in psutil.net_connections(kind=kind)]
    except (psutil.Error, OSError) as exc:
        raise NetworkError(f"cannot list sockets: {exc}") from exc
    names = _process_names(c.pid for c in raw if c.pid)
    unix_states = _unix_stream_states() if any(c.family == socket.AF_UNIX for c in raw) else {}
    result = []
    for conn in raw:
        state = conn.status
        if (conn.family == socket.AF_UNIX and conn.type == socket.SOCK_STREAM
                and isinstance(conn.laddr, str) and conn.laddr and not conn.raddr):
            # psutil says NONE for every Unix socket; the kernel's table knows a server.
            waiting = unix_states.get(conn.laddr)
            if waiting:
                state = waiting.pop()
        info = SocketInfo(
            protocol=_PROTOCOLS.get((conn.family, conn.type), f"{conn.family}/{conn.type}"),
            local=_format(conn.family, conn.laddr),
            remote=_format(conn.family, conn.raddr),
            state=state,
            pid=conn.pid,
            process=names.get(conn.pid) if conn.pid else None,
        )
        if listening and not info.listening:
            continue
        if port is not None and port not in _ports(conn):
            continue
        result.append(info)
    result.sort(key=lambda i: (i.protocol, i.state != "LISTEN", i.local, i.remote))
    return result


class _Endpoints(Protocol):
    """The part of psutil's connection record (``sconn``/``pconn``) that ``_ports`` reads."""

    @property
    def laddr(self) -> str | tuple[Any, ...]: ...
    @property
    def raddr(self) -> str | tuple[Any, ...]: ...


def _ports(conn: _Endpoints) -> set[int]:
    ports = set()
    for endpoint in (conn.laddr, conn.raddr):
        if endpoint and not isinstance(endpoint, str):
            ports.add(endpoint[1])
    return ports
