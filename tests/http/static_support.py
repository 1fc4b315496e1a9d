"""Helpers for the static-file, mount and demo tests: raw HTTP over a socket, and curl.

Raw requests exist because every real client normalises what we want to test: curl folds
``/../`` unless told ``--path-as-is``, urllib refuses control characters, and neither will send
a backslash or ``%00`` exactly as written in every position.
"""

from __future__ import annotations

import re
import socket
import subprocess
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CURL = "/usr/bin/curl"


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    raw: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


def parse_response(raw: bytes, *, head: bool = False) -> RawResponse:
    """Parse the final response in ``raw`` (interim 1xx, e.g. 100 Continue, are skipped)."""
    while re.match(rb"HTTP/1\.[01] 1[0-9][0-9] ", raw):
        raw = raw.partition(b"\r\n\r\n")[2]
    head_bytes, _, body = raw.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = []
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers.append((key.strip(), value.strip()))
    return RawResponse(status, headers, b"" if head else body, raw)


def raw_request(url: str, target: str | bytes, *, method: str = "GET",
                headers: dict[str, str] | None = None, body: bytes = b"") -> RawResponse:
    """Send one request with ``target`` exactly as given, read to EOF, parse the answer."""
    parts = urlsplit(url)
    if isinstance(target, str):
        target = target.encode("latin-1")
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: " + parts.netloc.encode(),
             b"Connection: close"]
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}".encode("latin-1"))
    if body:
        lines.append(f"Content-Length: {len(body)}".encode())
    request = b"\r\n".join(lines) + b"\r\n\r\n" + body
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return parse_response(b"".join(chunks), head=method == "HEAD")


def curl(*args: str) -> RawResponse:
    """Run curl (``-si``: status line and headers on stdout) and parse what it printed."""
    result = subprocess.run([CURL, "-si", "--max-time", "20", *args], capture_output=True,
                            timeout=30, check=True)
    return parse_response(result.stdout)
