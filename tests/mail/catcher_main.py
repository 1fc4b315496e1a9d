"""A catcher in a process of its own, for the fork and prefork modes (which must not fork the
test process): ``python catcher_main.py MODE CERTFILE KEYFILE MAILDIR PASSWORDS`` prints
``catcher: listening on tcp ADDRESS`` once it serves."""

from __future__ import annotations

import dataclasses
import sys

from wirekit.config import DEFAULT_TIMEOUTS
from wirekit.mail import MailServer
from wirekit.net.tls import server_context

if __name__ == "__main__":
    mode, certfile, keyfile, maildir, passwords = sys.argv[1:6]
    idle = float(sys.argv[6]) if len(sys.argv) > 6 else DEFAULT_TIMEOUTS.idle
    server = MailServer(maildir, "127.0.0.1:0", concurrency=mode,
                        tls=server_context(certfile, keyfile), passwords=passwords or None,
                        timeouts=dataclasses.replace(DEFAULT_TIMEOUTS, idle=idle,
                                                     message=idle))

    def announce() -> None:
        print(f"catcher: listening on tcp {server.address}", flush=True)

    server.serve_forever(ready=announce)
