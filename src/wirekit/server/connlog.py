"""One readable log line per connection: who, how it ended, how long, bytes in and out.

Client addresses come from the kernel, and outcomes are our own words, so nothing a peer sends
reaches the log unescaped (SECURITY.md L07).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from wirekit.net.address import Address

__all__ = ["ConnectionRecord", "logger"]

logger = logging.getLogger("wirekit.server")


@dataclass(slots=True)
class ConnectionRecord:
    client: Address
    started: float = field(default_factory=time.monotonic)

    def log(self, outcome: str, bytes_in: int, bytes_out: int,
            level: int = logging.INFO) -> None:
        if logger.isEnabledFor(level):
            logger.log(level, "%s %s after %.3fs, %d B in, %d B out", self.client, outcome,
                       time.monotonic() - self.started, bytes_in, bytes_out)
