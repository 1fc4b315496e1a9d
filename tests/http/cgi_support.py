"""Helpers for the CGI and forms tests: a site with a cgi-bin written at test time, and a client
that sends a request path exactly as given (curl and urllib normalise ``/../`` and ``//``)."""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CURL = "/usr/bin/curl"
PYTHON = sys.executable

# A Python CGI script that answers with its whole environment, argv and stdin as JSON.
ENV_DUMP = """\
import json, os, sys
body = sys.stdin.buffer.read()
print("Content-Type: application/json")
print()
print(json.dumps({"env": dict(os.environ), "argv": sys.argv, "body": body.decode("latin-1"),
                  "cwd": os.getcwd()}))
# SOURCE-MARKER-7f3a: this comment must never reach a client
"""


@dataclass
class Site:
    """A document root with ``cgi-bin/``; ``script()`` writes an executable into it."""

    root: Path

    @property
    def cgi_bin(self) -> Path:
        return self.root / "cgi-bin"

    def script(self, name: str, source: str, mode: int = 0o755) -> Path:
        path = self.cgi_bin / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        path.chmod(mode)
        return path


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def request(url: str, path: str, *, method: str = "GET", body: Any = None,
            headers: dict[str, str] | None = None, timeout: float = 20) -> Reply:
    """One request with ``path`` sent verbatim (http.client de-chunks the answer)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        chunked = (headers or {}).get("Transfer-Encoding") == "chunked"
        conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


def wait_until(predicate, limit: float = 10.0) -> bool:
    """Poll ``predicate`` until true or ``limit`` seconds pass (for cleanup that happens after
    the response is sent); the test then asserts the returned value, never the time taken."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer exists, not even as a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "X"


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))
