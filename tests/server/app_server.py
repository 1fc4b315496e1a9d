"""Servers with special handlers for the reliability tests, run as `python app_server.py NAME`.

Prints "app: listening on tcp ADDRESS" like the CLI, then serves until signalled.
"""

from __future__ import annotations

import os
import sys
import time

from wirekit.net import LineFramer
from wirekit.server import FramedHandler, Prefork, Server, StreamHandler, Sync


class Slow(StreamHandler):
    """Reads a line, takes 1.5 s, answers: an in-flight request for shutdown tests."""

    def handle(self) -> None:
        if self.stream.readline():
            time.sleep(1.5)
            self.stream.sendall(b"done\n")


class Pid(FramedHandler):
    """Answers each line with the worker's pid; the line "hang" never returns."""

    framer = LineFramer

    def handle_message(self, message: bytes) -> bytes:
        if message == b"hang":
            time.sleep(3600)
        return str(os.getpid()).encode()


def boot_fails() -> None:
    raise RuntimeError("cannot open the database")


SCENARIOS = {
    "slow": lambda: Server(Slow, concurrency="threads"),
    "recycle": lambda: Server(Pid, concurrency=Prefork(workers=1, max_requests=5,
                                                       max_requests_jitter=2)),
    "recycle-reuseport": lambda: Server(Pid, reuse_port=True, concurrency=Prefork(
        workers=2, max_requests=8, max_requests_jitter=2)),
    "retire": lambda: Server(Pid, concurrency=Prefork(workers=1, max_requests=2)),
    "hang": lambda: Server(Pid, concurrency=Prefork(workers=2, worker_mode=Sync(),
                                                    worker_timeout=1.0)),
    "bootfail": lambda: Server(Pid, concurrency=Prefork(workers=2, worker_init=boot_fails)),
}

if __name__ == "__main__":
    server = SCENARIOS[sys.argv[1]]()
    server.serve_forever(ready=lambda: print(f"app: listening on tcp {server.address}",
                                             flush=True))
