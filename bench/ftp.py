"""FTP side by side: wirekit's client vs ftplib against the same pyftpdlib server, in one run.

* **download**: a sparse file of ``--size`` bytes (reads cost the server no disk), into a sink
  that keeps nothing, so only the clients differ (ftplib: ``retrbinary`` with its default
  8 KiB blocks, as the course's slides use it; ``--ftplib-block`` tries another size).
* **upload**: the same file, to a server that stores uploads in /dev/null (``storbinary``,
  default 8 KiB blocks, vs wirekit's ``upload``, which uses ``sendfile(2)``).
* **listing**: a directory of ``--entries`` files, listed ``--listings`` times on one
  connection: wirekit's ``list()`` (MLSD parsed into entries, times as datetimes when read) vs
  ``list(ftplib.FTP.mlsd())`` (MLSD split into dicts of strings).

The server runs in a process of its own (pyftpdlib's async loop, with sendfile for
downloads). Each case runs ``--rounds`` times and the best is kept. Target (issue 16): at
least 1.0x ftplib for each.

The full run (the numbers to quote) wants two idle cores, one for the server and one for the
client, and about a minute; a small run checks that everything works in seconds:

    .venv/bin/python bench/ftp.py                      # full: 1 GiB, 1,000 entries
    .venv/bin/python bench/ftp.py --size 16MiB --rounds 2      # small: a quick check
    .venv/bin/python bench/ftp.py --case listing       # only the listing
"""

from __future__ import annotations

import argparse
import contextlib
import ftplib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve()
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
CASES = ("download", "upload", "listing")


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*([0-9]+)\s*([kmg]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (64MiB, 1GiB...)")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


# -- the server (run with --serve ROOT) -----------------------------------------------------
def serve(root: str) -> None:
    """pyftpdlib on a free port, uploads into /dev/null; print the port; run until killed."""
    from pyftpdlib.filesystems import AbstractedFS

    from wirekit.ftp.server import FTPServer

    class DevNullFS(AbstractedFS):
        def open(self, filename, mode):
            if "w" in mode or "a" in mode:
                return open(os.devnull, mode)
            return super().open(filename, mode)

    server = FTPServer(root, "127.0.0.1:0", write=True,
                       handler_options={"abstracted_fs": DevNullFS})
    server.serve_forever(ready=lambda: print(server.port, flush=True))


@contextlib.contextmanager
def server_process(root: str) -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, str(HERE), "--serve", root],
                            stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(10)


# -- the cases -------------------------------------------------------------------------------
class Sink:
    def write(self, data: object) -> None:
        pass


def best(rounds: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def ftplib_client(port: int) -> ftplib.FTP:
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", port)
    ftp.login()
    ftp.voidcmd("TYPE I")
    return ftp


def run(args: argparse.Namespace, root: Path, port: int) -> list[tuple[str, float, float, str]]:
    from wirekit.ftp import Client

    size, rounds = args.size, args.rounds
    block = args.ftplib_block
    cases = set(args.case or CASES)
    rows = []
    with Client("127.0.0.1", port) as ours:
        theirs = ftplib_client(port)
        if "download" in cases:
            wk = best(rounds, lambda: ours.download("big.bin", Sink()))
            fl = best(rounds, lambda: theirs.retrbinary("RETR big.bin", Sink().write, block))
            rows.append((f"download {size >> 20} MiB", size / wk, size / fl, "MB/s"))

        def ftplib_upload() -> None:
            with open(root / "big.bin", "rb") as source:
                theirs.storbinary("STOR copy.bin", source, block)

        if "upload" in cases:
            wk = best(rounds, lambda: ours.upload(root / "big.bin", "copy.bin"))
            fl = best(rounds, ftplib_upload)
            rows.append((f"upload {size >> 20} MiB", size / wk, size / fl, "MB/s"))

        listings = args.listings
        if "listing" in cases:
            wk = best(rounds, lambda: [ours.list("many") for _ in range(listings)])
            fl = best(rounds, lambda: [list(theirs.mlsd("many")) for _ in range(listings)])
            rows.append((f"listing {args.entries} entries", listings / wk, listings / fl,
                         "lists/s"))
        theirs.quit()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", metavar="ROOT", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=parse_size, default=1 << 30,
                        help="the transfer size (default 1GiB)")
    parser.add_argument("--entries", type=int, default=1000, help="files in the listing")
    parser.add_argument("--listings", type=int, default=20, help="listings per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case (best kept)")
    parser.add_argument("--case", action="append", choices=CASES,
                        help="run only this case (repeatable; default: all three)")
    parser.add_argument("--ftplib-block", type=int, default=8192,
                        help="ftplib's blocksize (its default: 8192)")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory(prefix="wirekit-bench-ftp-") as folder:
        root = Path(folder)
        with open(root / "big.bin", "wb") as big:
            big.truncate(args.size)  # sparse
        (root / "many").mkdir()
        for i in range(args.entries):
            (root / "many" / f"file-{i:05d}.dat").write_bytes(b"x" * (i % 100))
        with server_process(folder) as port:
            rows = run(args, root, port)
    print(f"{'case':28} {'wirekit':>12} {'ftplib':>12}  {'ratio':>6}")
    for name, ours, theirs, unit in rows:
        scale = 1e6 if unit == "MB/s" else 1
        print(f"{name:28} {ours / scale:>9.1f} {unit:<6}{theirs / scale:>6.1f} {unit:<6}"
              f"{ours / theirs:>5.2f}x")


if __name__ == "__main__":
    main()
