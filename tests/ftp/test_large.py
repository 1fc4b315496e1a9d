"""A 1 GiB download and upload against pyftpdlib in flat memory: the client holds one block,
whatever the file's size (tracemalloc's peak over the whole transfer, server thread included,
stays under a few MiB)."""

from __future__ import annotations

import os
import tracemalloc

import pytest

from wirekit.ftp import Client

GIB = 1 << 30
FLAT = 2 << 20  # one 256 KiB block, pyftpdlib's 64 KiB buffers, and change (measured: 0.35 MiB)


class Sink:
    """A writable file that keeps nothing (so the test measures the client, not a disk)."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, data: memoryview) -> int:
        self.count += len(data)
        return len(data)

    def tell(self) -> int:
        return self.count


def devnull_fs():
    """A pyftpdlib file system that stores uploads in /dev/null."""
    from pyftpdlib.filesystems import AbstractedFS

    class DevNullFS(AbstractedFS):
        def open(self, filename, mode):
            if "w" in mode or "a" in mode:
                return open(os.devnull, mode)
            return super().open(filename, mode)

    return DevNullFS


@pytest.mark.slow
def test_a_1_gib_download_and_upload_in_flat_memory(start_server, tmp_path):
    server = start_server(handler_options={"abstracted_fs": devnull_fs()})
    with open(server.root / "big.bin", "wb") as big:
        big.truncate(GIB)  # sparse: reads cost no disk
    reports = 0

    def progress(done: int, total: int | None) -> None:
        nonlocal reports
        reports += 1

    with Client(server.host, server.port) as ftp:
        sink = Sink()
        tracemalloc.start()
        try:
            assert ftp.download("big.bin", sink, progress=progress) == GIB
            _, download_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            assert ftp.upload(server.root / "big.bin", "copy.bin", progress=progress) == GIB
            _, upload_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert sink.count == GIB and reports > 100
    assert download_peak < FLAT, f"download peak {download_peak} bytes"
    assert upload_peak < FLAT, f"upload peak {upload_peak} bytes"
