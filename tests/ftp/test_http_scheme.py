"""The HTTP client's ``ftp:`` URLs go through ``wirekit.ftp``: against pyftpdlib, with the
session's download progress and timeouts."""

from __future__ import annotations

import pytest

from wirekit.errors import AuthenticationError
from wirekit.http.client import ResourceError, Session, urlopen

from .conftest import make_file


def test_download_listing_and_progress(wirekit_ftp_server):
    (wirekit_ftp_server.root / "pub").mkdir()
    data = make_file(wirekit_ftp_server.root / "pub" / "data.bin", 600_000)
    with urlopen(f"{wirekit_ftp_server.url}/pub/data.bin") as response:
        assert response.status == 200
        assert response.headers["content-length"] == "600000"
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.read() == data
    seen: list[tuple[int, int | None]] = []
    with Session() as session:
        body = session.get(f"{wirekit_ftp_server.url}/pub/data.bin",
                           download_progress=lambda done, total: seen.append((done, total)))
        assert body.content == data
        listing = session.get(f"{wirekit_ftp_server.url}/pub/").text
    assert seen[-1] == (600_000, 600_000)
    assert "data.bin" in listing and "600000" in listing


def test_errors(start_server):
    server = start_server(user="alice:pw")
    with pytest.raises(AuthenticationError):
        urlopen(f"{server.url}/x")
    with pytest.raises(ResourceError, match="550"):
        urlopen(server.url.replace("ftp://", "ftp://alice:pw@") + "/missing.txt")
