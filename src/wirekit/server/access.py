"""Who may connect: allow and deny lists by address or network, and a ``verify`` hook.

The course's ``verify_request`` (slide 5-16) as configuration rather than subclassing. Deny wins
over allow; an empty allow list allows everyone; Unix-socket clients have no IP address and are
governed by the socket file's permissions (and ``verify``, if given).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from wirekit.errors import ConfigError
from wirekit.net.address import Address

__all__ = ["AccessPolicy", "Network"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(entries: Iterable[str | Network]) -> tuple[Network, ...]:
    nets = []
    for entry in entries:
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ConfigError(f"{entry!r} is not an IP address or network (CIDR)") from None
    return tuple(nets)


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Decide per client address whether a connection is served.

    >>> policy = AccessPolicy.of(allow=["127.0.0.0/8", "::1"], deny=["127.0.0.2"])
    >>> policy.permits(Address("127.0.0.1", 5000)), policy.permits(Address("127.0.0.2", 5000))
    (True, False)
    """

    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()
    verify: Callable[[Address], bool] | None = None

    @classmethod
    def of(cls, allow: Iterable[str | Network] = (), deny: Iterable[str | Network] = (),
           verify: Callable[[Address], bool] | None = None) -> AccessPolicy:
        return cls(_networks(allow), _networks(deny), verify)

    @property
    def open(self) -> bool:
        """True when every client is allowed (the check can be skipped)."""
        return not self.allow and not self.deny and self.verify is None

    def permits(self, client: Address) -> bool:
        if client.host and (self.allow or self.deny):
            try:
                ip = ipaddress.ip_address(client.host.split("%", 1)[0])
            except ValueError:
                return False
            if any(ip in net for net in self.deny):
                return False
            if self.allow and not any(ip in net for net in self.allow):
                return False
        return self.verify is None or bool(self.verify(client))


OPEN = AccessPolicy()
