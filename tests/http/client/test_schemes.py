"""The course's other urlopen schemes: file: and ftp: (via ftplib, against a loopback server)."""

from __future__ import annotations

import pytest

from wirekit.errors import AuthenticationError
from wirekit.http.client import InvalidRequest, InvalidURL, ResourceError, Session, urlopen


def test_file_urls(tmp_path):
    page = tmp_path / "my page.html"
    page.write_bytes(b"<h1>local</h1>\n")
    with urlopen(page.as_uri()) as response:
        assert response.status == 200
        assert response.headers["content-type"] == "text/html"
        assert response.headers["content-length"] == "15"
        assert "GMT" in response.headers["last-modified"]
        assert response.read() == b"<h1>local</h1>\n"
    assert urlopen(f"file://localhost{page}").read() == b"<h1>local</h1>\n"


def test_file_url_errors(tmp_path):
    with pytest.raises(ResourceError) as info:
        urlopen((tmp_path / "missing").as_uri())
    assert isinstance(info.value, OSError) and info.value.errno == 2
    with pytest.raises(ResourceError):
        urlopen(tmp_path.as_uri())  # a directory
    with pytest.raises(InvalidURL):
        urlopen("file://remote.example/etc/passwd")
    with pytest.raises(InvalidRequest):
        Session().post((tmp_path / "x").as_uri(), data=b"no writes")


def test_ftp_download_and_listing(ftp_server):
    url, root = ftp_server
    (root / "pub").mkdir()
    (root / "pub" / "notes.txt").write_bytes(b"ftp bytes " * 10000)
    with urlopen(f"{url}/pub/notes.txt") as response:
        assert response.headers["content-length"] == "100000"
        assert response.headers["content-type"] == "text/plain"
        assert response.read() == b"ftp bytes " * 10000
    with Session() as session:
        listing = session.get(f"{url}/pub/").text
    assert "notes.txt" in listing


def test_ftp_errors(ftp_server):
    url, _ = ftp_server
    with pytest.raises(ResourceError, match="550"):
        urlopen(f"{url}/missing.txt")
    with pytest.raises(AuthenticationError):
        urlopen(url.replace("ftp://", "ftp://user:wrong@") + "/x")
    with pytest.raises(InvalidURL):
        urlopen(f"{url}/a%0d%0aDELE%20x")  # FTP command injection
