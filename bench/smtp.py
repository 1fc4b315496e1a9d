"""SMTP side by side: wirekit's catcher vs aiosmtpd, and wirekit's client vs smtplib.

Messages per second, 10 kB messages, for 1 and 20 concurrent senders, with one message per
connection and many (``--per-connection``, default 50) per connection.

* **Servers.** Each server runs in a process of its own and stores every message in a
  Maildir (aiosmtpd with its own ``Mailbox`` handler, on uvloop like wirekit's async mode;
  ``aiosmtpd-fsync`` is that handler plus the fsync wirekit does before its 250, since
  ``mailbox.Maildir`` writes without one). The
  load is a lean asyncio client in this process that speaks like smtplib (one command, one
  reply: aiosmtpd does not offer PIPELINING) so that only the servers differ.
* **Clients.** Each client sends ``EmailMessage`` objects (serialisation included) to a tiny
  uvloop sink in its own process that answers at once, so the client is measured alone; 20
  senders are 20 threads.

Contenders take turns (``--rounds``, default 3, best of each kept; servers start afresh each
round): on a noisy VM a single run of each measured the moment as much as the contender.

Target (issue 15): the catcher at least 2x aiosmtpd, the client at least 1.5x smtplib.

    .venv/bin/python bench/smtp.py                     # 2 s per case
    .venv/bin/python bench/smtp.py --seconds 5 --only servers
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
SIZE = 10 * 1024


def make_message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "bench@example.org", "sink@example.org", "bench"
    line = "The quick brown fox jumps over the lazy dog; 0123456789 abcdefghij.\n"
    msg.set_content(line * (SIZE // len(line)))
    return msg


WIRE = make_message().as_bytes().replace(b"\n", b"\r\n")

# -- the servers (run with --serve KIND) ---------------------------------------------------


def serve(kind: str, folder: str) -> None:
    """Serve ``kind`` on a free port; print the port; run until killed. A ``null-`` prefix
    stores nothing (aiosmtpd's ``Sink``), to compare the SMTP handling alone."""
    null = kind.startswith("null-")
    kind = kind.removeprefix("null-")
    if kind.startswith("wirekit"):
        from wirekit.mail import MaildirStore, MailServer

        class NullStore(MaildirStore):
            def deliver(self, data: bytes, envelope: object, hostname: str) -> str:
                return "discarded"

        store = NullStore(folder) if null else MaildirStore(folder)
        server = MailServer(store, "127.0.0.1:0", concurrency=kind.split("-")[1])
        server.serve_forever(ready=lambda: print(server.address.port, flush=True))
    elif kind.startswith("aiosmtpd"):
        import uvloop
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Mailbox, Sink

        class DurableMailbox(Mailbox):
            """aiosmtpd's Maildir handler, plus the fsync wirekit's catcher does before its
            250 (mailbox.Maildir.add writes without one): the same durability."""

            def handle_message(self, message: Any) -> None:
                key = self.mailbox.add(message)
                path = os.path.join(self.mail_dir, self.mailbox._lookup(key))  # type: ignore[attr-defined]
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        port = _free_port()
        handler = (Sink() if null else DurableMailbox(folder) if kind.endswith("fsync")
                   else Mailbox(folder))
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        print(port, flush=True)
        threading.Event().wait()
    else:  # the sink for the client benchmark
        import uvloop

        uvloop.run(_sink())


async def _sink() -> None:
    """Answer every SMTP command at once; count nothing, store nothing."""
    ehlo = b"250-sink\r\n250-PIPELINING\r\n250-SIZE 100000000\r\n250 8BITMIME\r\n"

    class Sink(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.buffer, self.data = b"", False
            transport.write(b"220 sink\r\n")  # type: ignore[attr-defined]

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            out = []
            while True:
                if self.data:
                    end = self.buffer.find(b"\r\n.\r\n")
                    if end < 0:
                        break
                    self.buffer, self.data = self.buffer[end + 5:], False
                    out.append(b"250 ok\r\n")
                    continue
                line, sep, rest = self.buffer.partition(b"\r\n")
                if not sep:
                    break
                self.buffer = rest
                verb = line[:4].upper()
                if verb == b"EHLO":
                    out.append(ehlo)
                elif verb == b"DATA":
                    self.data, self.buffer = True, b"\r\n" + self.buffer
                    out.append(b"354 go\r\n")
                elif verb == b"QUIT":
                    out.append(b"221 bye\r\n")
                else:
                    out.append(b"250 ok\r\n")
            if out:
                self.transport.write(b"".join(out))  # type: ignore[attr-defined]

    server = await asyncio.get_running_loop().create_server(Sink, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def server_process(kind: str) -> Iterator[int]:
    with tempfile.TemporaryDirectory(prefix="smtp-bench-") as folder:
        maildir = str(Path(folder) / "maildir")  # created by the server (tmp, new, cur)
        proc = subprocess.Popen([sys.executable, str(HERE), "--serve", kind, maildir],
                                stdout=subprocess.PIPE)
        try:
            port = int(proc.stdout.readline())  # type: ignore[union-attr]
            yield port
        finally:
            proc.terminate()
            proc.wait(10)


# -- the load for the servers --------------------------------------------------------------


async def _reply(reader: asyncio.StreamReader) -> bytes:
    while True:
        line = await reader.readline()
        if not line or line[3:4] != b"-":
            return line


async def _sender(port: int, per_connection: int, stop_at: float, count: list[int]) -> None:
    envelope = [b"MAIL FROM:<bench@example.org>\r\n", b"RCPT TO:<sink@example.org>\r\n",
                b"DATA\r\n"]
    while time.monotonic() < stop_at:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await _reply(reader)
        writer.write(b"EHLO bench.example\r\n")
        await _reply(reader)
        for _ in range(per_connection):
            for command in envelope:
                writer.write(command)
                assert (await _reply(reader))[:1] in b"23"
            writer.write(WIRE + b".\r\n")
            assert (await _reply(reader)).startswith(b"250")
            count[0] += 1
            if time.monotonic() >= stop_at:
                break
        writer.write(b"QUIT\r\n")
        await _reply(reader)
        writer.close()


def load(port: int, senders: int, per_connection: int, seconds: float) -> float:
    count = [0]

    async def run() -> None:
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(_sender(port, per_connection, stop_at, count)
                               for _ in range(senders)))

    started = time.monotonic()
    import uvloop

    uvloop.run(run())
    return count[0] / (time.monotonic() - started)


# -- the clients ---------------------------------------------------------------------------


def wirekit_client(port: int, per_connection: int, stop_at: float, count: list[int],
                   raw: bool = False) -> None:
    from wirekit.mail import Client

    msg = make_message()
    envelope = {"sender": "bench@example.org", "recipients": ["sink@example.org"]} \
        if raw else {}
    content = WIRE if raw else msg
    while time.monotonic() < stop_at:
        with Client("127.0.0.1", port, tls=None) as client:
            for sent in range(1, per_connection + 1):
                # The last message carries the QUIT behind it (RFC 2920 §4), as send() does.
                last = sent == per_connection or time.monotonic() >= stop_at
                client.send(content, last=last, **envelope)
                count[0] += 1
                if last:
                    break


def smtplib_client(port: int, per_connection: int, stop_at: float, count: list[int],
                   raw: bool = False) -> None:
    msg = make_message()
    while time.monotonic() < stop_at:
        with smtplib.SMTP("127.0.0.1", port, local_hostname="bench.example") as smtp:
            for _ in range(per_connection):
                if raw:
                    smtp.sendmail("bench@example.org", ["sink@example.org"], WIRE)
                else:
                    smtp.send_message(msg)
                count[0] += 1
                if time.monotonic() >= stop_at:
                    break


def drive(client: Callable[..., None], port: int, senders: int, per_connection: int,
          seconds: float, raw: bool) -> float:
    count = [0]
    stop_at = time.monotonic() + seconds
    started = time.monotonic()
    threads = [threading.Thread(target=client,
                                args=(port, per_connection, stop_at, count, raw))
               for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count[0] / (time.monotonic() - started)


# -- the run -------------------------------------------------------------------------------


CASES = [(1, 1), (1, None), (20, 1), (20, None)]  # (senders, messages per connection)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve", nargs=2, metavar=("KIND", "FOLDER"), help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--per-connection", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds per case, best of each kept")
    parser.add_argument("--only", choices=["servers", "clients"])
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    if args.only != "clients":
        for null in (False, True):
            bench_servers(args.seconds, args.per_connection, null, args.rounds)
    if args.only != "servers":
        for raw in (False, True):
            bench_clients(args.seconds, args.per_connection, raw, args.rounds)


def bench_servers(seconds: float, many: int, null: bool, rounds: int) -> None:
    where = "discarded (SMTP handling alone)" if null else "stored in a Maildir (fsync)"
    print(f"\nservers: messages/s of {SIZE // 1024} kB, {where}")
    kinds = ["aiosmtpd", "wirekit-async", "wirekit-threads"]
    if not null:  # the same durability: aiosmtpd's Maildir handler does not fsync
        kinds.insert(1, "aiosmtpd-fsync")
    print(f"{'senders x per connection':26}" + "".join(f"{kind:>17}" for kind in kinds)
          + f"{'async/aiosmtpd':>16}" + (f"{'async/+fsync':>14}" if not null else ""))
    prefix = "null-" if null else ""
    for senders, count in CASES:
        per = count or many
        rates = dict.fromkeys(kinds, 0.0)
        for _ in range(rounds):  # interleaved, a fresh server each time, best of each
            for kind in rates:
                with server_process(prefix + kind) as port:
                    rates[kind] = max(rates[kind], load(port, senders, per, seconds))
        ratios = [rates["wirekit-async"] / rates["aiosmtpd"]]
        if not null:
            ratios.append(rates["wirekit-async"] / rates["aiosmtpd-fsync"])
        print(f"{f'{senders} x {per}':26}" + "".join(f"{rates[k]:17.0f}" for k in kinds)
              + "".join(f"{ratio:15.2f}x" for ratio in ratios))


def bench_clients(seconds: float, many: int, raw: bool, rounds: int) -> None:
    what = "bytes with an envelope" if raw else "an EmailMessage (serialised each time)"
    print(f"\nclients: messages/s of {SIZE // 1024} kB, {what}, to a sink")
    print(f"{'senders x per connection':26}{'smtplib':>10}{'wirekit':>10}{'ratio':>9}")
    with server_process("sink") as port:
        for senders, count in CASES:
            per = count or many
            old = new = 0.0
            for _ in range(rounds):  # interleaved, best of each: this VM drifts for seconds
                old = max(old, drive(smtplib_client, port, senders, per, seconds, raw))
                new = max(new, drive(wirekit_client, port, senders, per, seconds, raw))
            print(f"{f'{senders} x {per}':26}{old:10.0f}{new:10.0f}{new / old:8.2f}x")


if __name__ == "__main__":
    main()
