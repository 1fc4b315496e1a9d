"""Shared helpers for the HTTP core tests: corpus loading, the four feeding strategies, and a
tiny in-memory server driver that records what a strict server would dispatch."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from wirekit.config import Limits
from wirekit.errors import LimitExceeded, ProtocolError
from wirekit.proto.http import (
    NEED_DATA,
    PAUSED,
    Connection,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Request,
    Role,
    State,
)
from wirekit.testing.feeding import FEEDS

REPO_ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "http-requests"


def corpus_dir(kind: str) -> Path:
    """The corpus folder, or skip the test with a reason when the shared data is absent."""
    path = CORPUS / kind
    if not path.is_dir():
        pytest.skip(f"shared corpus not found at {path} (../shared/corpora is outside the repo)")
    return path


def corpus_files(kind: str) -> list[str]:
    """File names for parametrisation; empty when the corpus is missing (tests then skip)."""
    path = CORPUS / kind
    return sorted(p.name for p in path.glob("*.http")) if path.is_dir() else []


# The corpus was written for gunicorn's defaults: its request-line limit (4094), and Host
# optional (most files are HTTP/1.1 without Host, which wirekit refuses by default, as RFC 9112
# §3.2 and SECURITY.md H11 say).
CORPUS_OPTIONS: dict[str, object] = {
    "limits": Limits(max_request_line=4094),
    "dangerous_allow_missing_host": True,
}
# The corpus README's documented skips (PROXY protocol files, pp_*, are skipped by prefix).
VALID_SKIPS = {
    "024.http": "needs request line/field limits raised to about 8200 (corpus README)",
    "026.http": "needs the field limit raised to about 8200 (corpus README)",
    "028.http": "needs spaces around header names stripped (corpus README)",
    "031compat.http": "unconventional (lower-case) method names (corpus README)",
    "031compat2.http": "unconventional (lower-case) method names (corpus README)",
    "040_compat.http": "headers with '_' kept by the environ layer (corpus README)",
    "compat_obs_fold.http": "obsolete line folding permitted (corpus README)",
    "compat_obs_fold_huge.http": "obsolete line folding permitted (corpus README)",
}
INVALID_SKIPS = {
    "010.http": "tiny field size limit (corpus README)",
    "011.http": "at most 2 headers (corpus README)",
    "012.http": "tiny field size limit (corpus README)",
    "013.http": "tiny field limit with folding permitted (corpus README)",
    "019.http": "forwarded headers trusted from everywhere (corpus README)",
    "040.http": "'_' headers refused rather than dropped (corpus README)",
    "chunked_07.http": "'_' headers refused rather than dropped (corpus README)",
    "limit_header_default_01.http": "field limit 0 = default (corpus README)",
}


def documented_skip(kind: str, name: str) -> str | None:
    """The corpus README's reason to skip ``name``, if any."""
    if name.startswith("pp_"):
        return "PROXY protocol (corpus README)"
    return (VALID_SKIPS if kind == "valid" else INVALID_SKIPS).get(name)


_ESCAPES = {ord("r"): b"\r", ord("n"): b"\n", ord("t"): b"\t", ord("0"): b"\0"}


def decode_corpus(raw: bytes) -> bytes:
    """Decode a corpus file as its README says: drop real newlines, then expand escapes."""
    text = raw.replace(b"\n", b"")
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] == 0x5C and i + 1 < len(text):  # backslash
            code = text[i + 1]
            if code in _ESCAPES:
                out += _ESCAPES[code]
                i += 2
                continue
            if code == ord("x"):
                out.append(int(text[i + 2 : i + 4], 16))
                i += 4
                continue
        out.append(text[i])
        i += 1
    return bytes(out)


def load_corpus(kind: str, name: str) -> bytes:
    return decode_corpus((corpus_dir(kind) / name).read_bytes())


# The four feeding strategies (SECURITY.md, H-rows note) are wirekit.testing's FEEDS.


@pytest.fixture(params=sorted(FEEDS))
def feed(request: pytest.FixtureRequest) -> Callable[[bytes], list[bytes]]:
    """One feeding strategy per test run."""
    return FEEDS[request.param]


# -- an in-memory server ---------------------------------------------------------------------


@dataclass(frozen=True)
class Dispatched:
    """A request that reached its EndOfMessage: what an application would have been given."""

    method: str
    target: str
    http_version: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    trailers: tuple[tuple[str, str], ...] = ()


@dataclass
class Served:
    """Everything a strict server did with one input."""

    heads: list[str] = field(default_factory=list)  # "METHOD target" of each request head seen
    dispatched: list[Dispatched] = field(default_factory=list)
    status: int | None = None  # the error status, when the input was refused
    error: Exception | None = None
    responses: int = 0

    def outcome(self) -> tuple[object, ...]:
        """What must not depend on how the bytes were split."""
        return (tuple(self.heads), tuple(self.dispatched), self.status)


def serve(chunks: Iterable[bytes], *, eof: bool = True, **kwargs: object) -> Served:
    """Drive a server ``Connection`` over ``chunks`` and record what it would dispatch.

    Each complete request gets a small 200 response; the loop stops where a real server
    would close (MUST_CLOSE, an error, or the peer's EOF).
    """
    conn = Connection(Role.SERVER, **kwargs)  # type: ignore[arg-type]
    served = Served()
    pending: list[object] = []
    try:
        for chunk in [*chunks, *([b""] if eof else [])]:
            conn.receive_data(chunk)
            if not _pump(conn, served, pending):
                break
    except (ProtocolError, LimitExceeded) as exc:
        served.status = exc.status  # type: ignore[attr-defined]
        served.error = exc
    return served


def _pump(conn: Connection, served: Served, pending: list[object]) -> bool:
    """Process events until more data is needed; False when the server would close."""
    while True:
        event = conn.next_event()
        if event is NEED_DATA:
            return True
        if event is PAUSED or isinstance(event, ConnectionClosed):
            return False
        if isinstance(event, Request):
            served.heads.append(f"{event.method} {event.target}")
            pending[:] = [event, b""]
        elif isinstance(event, Data):
            pending[1] += event.data  # type: ignore[operator]
        elif isinstance(event, EndOfMessage):
            request, body = pending
            assert isinstance(request, Request)
            served.dispatched.append(
                Dispatched(request.method, request.target, request.http_version,
                           tuple(request.headers.fields), body, tuple(event.trailers.fields))  # type: ignore[arg-type]
            )  # fmt: skip
            conn.send_response(200, [("Content-Type", "text/plain")],
                               b"" if request.method == "CONNECT" else b"ok")  # fmt: skip
            served.responses += 1
            if conn.our_state is not State.DONE or conn.their_state is not State.DONE:
                return False
            conn.start_next_cycle()


def serve_all_ways(data: bytes, **kwargs: object) -> Served:
    """Serve ``data`` fed whole, byte by byte, at random splits and at every CR/LF; the
    outcomes must be identical (SECURITY.md H-rows). Returns the whole-feed result."""
    results = {name: serve(split(data), **kwargs) for name, split in FEEDS.items()}
    whole = results["whole"].outcome()
    for name, result in results.items():
        assert result.outcome() == whole, f"feeding {name} changed the outcome"
    return results["whole"]


# -- fixtures: test modules cannot import conftest under --import-mode=importlib ------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``valid_name``/``invalid_name`` over the corpus files (none if absent)."""
    for kind in ("valid", "invalid"):
        argname = f"{kind}_name"
        if argname in metafunc.fixturenames:
            names = corpus_files(kind) or [pytest.param("", marks=pytest.mark.skip(
                reason=f"shared corpus not found at {CORPUS}"))]  # fmt: skip
            metafunc.parametrize(argname, names)


@dataclass(frozen=True)
class Kit:
    """The helpers above, handed to tests as one fixture."""

    serve: Callable[..., Served] = serve
    serve_all_ways: Callable[..., Served] = serve_all_ways
    load_corpus: Callable[[str, str], bytes] = load_corpus
    corpus_files: Callable[[str], list[str]] = corpus_files
    documented_skip: Callable[[str, str], str | None] = documented_skip
    corpus_options: dict[str, object] = field(default_factory=lambda: CORPUS_OPTIONS)
    feeds: dict[str, Callable[[bytes], list[bytes]]] = field(default_factory=lambda: FEEDS)


@pytest.fixture(scope="session")
def kit() -> Kit:
    return Kit()
