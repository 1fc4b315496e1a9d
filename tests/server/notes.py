"""A small line protocol written against the connection-core contract, for the tests: a
greeting, commands, a framing switch (DATA: a dot-terminated block, as SMTP's) and STARTTLS.

Run as ``python notes.py MODE CERTFILE KEYFILE`` it serves itself (fork and prefork must not
fork the test process) and prints ``notes: listening on tcp ADDRESS``.
"""

from __future__ import annotations

import sys

from wirekit.proto import ReceiveBuffer
from wirekit.server.core import ConnectionCore

MAX_LINE = 1000
MAX_BLOCK = 1 << 20


class Notes(ConnectionCore):
    """``ECHO text``, ``DATA`` (then lines up to ``.``), ``STARTTLS``, ``QUIT``."""

    def connection_made(self, shell):
        super().connection_made(shell)
        self.buffer = ReceiveBuffer()  # the one receive buffer; every framing reads from it
        self.in_block = False
        shell.send(b"220 notes ready\r\n")
        self.await_command()

    @property
    def idle(self):
        return not self.in_block and not self.buffer

    def await_command(self):
        idle = self.server.timeouts.idle
        self.shell.set_deadline(None if idle is None else self.shell.now() + idle)

    def data_received(self, data):
        self.buffer.feed(data)
        while True:
            if self.in_block:  # the framing switched: a block up to a lone "."
                block = self.buffer.read_until(b"\r\n.\r\n", MAX_BLOCK)
                if block is None:
                    break
                self.in_block = False
                self.shell.send(b"250 stored %d bytes\r\n" % (len(block) - 5))
                continue
            line = self.buffer.read_line(MAX_LINE, keep=False)
            if line is None:
                break
            if not self.command(line.rstrip(b"\r")):
                return
        self.await_command()

    def command(self, line):
        verb, _, argument = line.partition(b" ")
        if verb == b"ECHO":
            self.shell.send(b"250 " + argument + b"\r\n")
        elif verb == b"DATA":
            self.in_block = True
            self.shell.send(b"354 end with a line holding a single dot\r\n")
        elif verb == b"STARTTLS":
            self.shell.send(b"220 go ahead\r\n")
            # Bytes sent in the clear after STARTTLS would be taken as if they came over TLS
            # (CVE-2011-0411): drop them.
            self.buffer.take_all()
            self.shell.start_tls()
        elif verb == b"QUIT":
            self.shell.send(b"221 bye\r\n")
            self.shell.close()
            return False
        else:
            self.shell.send(b"500 unknown command\r\n")
        return True

    def deadline_reached(self):
        self.outcome = "closed on idle timeout"
        self.shell.close()


if __name__ == "__main__":
    from wirekit.net.tls import server_context
    from wirekit.server import Server

    mode, certfile, keyfile = sys.argv[1:4]
    server = Server(Notes, "127.0.0.1:0", concurrency=mode, starttls=True,
                    tls=server_context(certfile, keyfile))

    def announce():
        print(f"notes: listening on tcp {server.address}", flush=True)

    server.serve_forever(ready=announce)
