"""Retries (issue 13): the pure policy exhaustively, then the session over loopback.

The integration tests replace ``time`` in :mod:`wirekit.http.client.retries` with a recorder,
so the delays the policy chose are asserted exactly and nobody waits for them; the recorder
is also the hook that changes the server between attempts (ordering without sleeps).
"""

from __future__ import annotations

import socket
import threading
import time
import types
from email.utils import formatdate

import pytest

from wirekit.errors import (
    ConfigError,
    ConnectError,
    ConnectionClosed,
    IncompleteRead,
    LookupFailed,
    RemoteProtocolError,
    Timeout,
    TLSError,
)
from wirekit.http.client import HTTPError, Retry, Session
from wirekit.http.client import retries as retries_module
from wirekit.http.client.errors import (
    ContentDecodingError,
    DecompressionLimitExceeded,
    InvalidRequest,
    ProxyError,
    RedirectError,
    TooManyRedirects,
)
from wirekit.http.client.pool import PoolTimeout
from wirekit.http.client.retries import retry_delay, send_with_retries, to_retry
from wirekit.proto.http import Headers

from .apps import read_body
from .conftest import serve_each

NOW = 1_700_000_000.0
POLICY = Retry()

# -- the policy object ------------------------------------------------------------------------


def test_defaults_are_the_documented_ones():
    assert (POLICY.total, POLICY.backoff, POLICY.max_backoff, POLICY.jitter) == (3, 0.5, 30, False)
    assert POLICY.statuses == {429, 502, 503, 504}
    assert POLICY.methods == {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"}
    assert POLICY.respect_retry_after and POLICY.max_retry_after == 120
    with pytest.raises(AttributeError):
        POLICY.total = 5  # type: ignore[misc]


@pytest.mark.parametrize("bad", [
    {"total": -1}, {"total": True}, {"total": 1.5}, {"backoff": -0.1}, {"max_backoff": "1"},
    {"max_retry_after": -1},
])  # fmt: skip
def test_bad_settings_are_refused(bad):
    with pytest.raises(ConfigError):
        Retry(**bad)


def test_sets_are_frozen_and_methods_upper_cased():
    policy = Retry(statuses={500}, methods=["post"])  # type: ignore[arg-type]
    assert policy.statuses == frozenset({500}) and policy.methods == frozenset({"POST"})
    assert hash(policy)  # frozen: usable as a key, shareable between threads


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), (0, None), (2, Retry(total=2)), (Retry(total=7), Retry(total=7)),
])  # fmt: skip
def test_retries_argument_forms(value, expected):
    assert to_retry(value) == expected


@pytest.mark.parametrize("value", [True, "3", 1.0, -1])
def test_retries_argument_refused(value):
    with pytest.raises(ConfigError):
        to_retry(value)


# -- backoff ----------------------------------------------------------------------------------


def delay(policy: Retry = POLICY, attempt: int = 1, method: str = "GET", **kw):
    return retry_delay(policy, attempt, method, now=NOW, **kw)


def test_backoff_doubles_and_stops_after_total():
    refused = ConnectError(111, "refused")
    assert [delay(attempt=n, error=refused) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, None]
    assert delay(Retry(total=0), error=refused) is None


def test_backoff_is_capped():
    policy = Retry(total=8, backoff=1, max_backoff=5)
    assert [delay(policy, n, status=503) for n in range(1, 9)] == [1, 2, 4, 5, 5, 5, 5, 5]


def test_jitter_draws_below_the_backoff_only_when_asked():
    assert delay(Retry(jitter=True), 2, status=503, rand=lambda: 0.25) == 0.25
    assert delay(Retry(), 2, status=503, rand=lambda: 0.25) == 1.0
    headers = {"Retry-After": "7"}
    assert delay(Retry(jitter=True), 1, status=503, headers=headers, rand=lambda: 0.25) == 7


# -- errors -----------------------------------------------------------------------------------

SENT_NOTHING = [
    ConnectError(111, "cannot connect: refused"),
    Timeout("connect to 127.0.0.1:9", 5),
    PoolTimeout("all 1 connections to a stayed busy", 5),
    ProxyError("the proxy answered 503", 503),
]
SENT_MAYBE_PROCESSED = [
    ConnectionClosed(104, "connection reset by peer"),
    IncompleteRead(b"HTTP/1.1 2", None, "message head"),
    RemoteProtocolError("connection closed without a response"),
    Timeout("read", 30),
    Timeout("send", 30),
]
NEVER = [
    LookupFailed("cannot resolve 'no-such-host.invalid'"),
    TLSError("certificate verify failed"),
    ProxyError("the proxy answered 407", 407),
    ProxyError("the proxy refused"),
    RedirectError("refusing to follow the redirect to 'file:///etc/passwd'"),
    TooManyRedirects("more than 20 redirects"),
    ContentDecodingError("invalid gzip content"),
    DecompressionLimitExceeded("bomb", limit="max_decompressed"),
    InvalidRequest("bad header"),
    ConfigError("bad setting"),
    ValueError("not ours"),
]


@pytest.mark.parametrize("error", SENT_NOTHING, ids=repr)
@pytest.mark.parametrize("method", ["GET", "POST", "PATCH"])
def test_errors_before_sending_are_retried_for_every_method(error, method):
    assert delay(method=method, error=error) == 0.5


@pytest.mark.parametrize("error", SENT_MAYBE_PROCESSED, ids=repr)
def test_errors_after_sending_are_retried_for_idempotent_methods_only(error):
    for method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE", "get"):
        assert delay(method=method, error=error) == 0.5, method
    for method in ("POST", "PATCH", "CONNECT"):
        assert delay(method=method, error=error) is None, method
    assert delay(Retry(methods=frozenset({"POST"})), method="POST", error=error) == 0.5


@pytest.mark.parametrize("error", NEVER, ids=repr)
def test_errors_that_would_repeat_are_never_retried(error):
    assert delay(method="GET", error=error) is None


@pytest.mark.parametrize("error", [*SENT_NOTHING, *SENT_MAYBE_PROCESSED], ids=repr)
def test_a_body_that_cannot_be_replayed_is_never_retried(error):
    assert delay(method="PUT", error=error, replayable=False) is None
    assert delay(method="PUT", status=503, replayable=False) is None


# -- statuses and Retry-After -----------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(POLICY.statuses))
def test_retry_statuses_for_idempotent_methods(status):
    assert delay(status=status) == 0.5
    assert delay(method="POST", status=status) is None


@pytest.mark.parametrize("status", [200, 301, 400, 404, 408, 500, 501])
def test_other_statuses_are_not_retried(status):
    assert delay(status=status) is None
    custom = Retry(statuses=frozenset({500}))
    assert delay(custom, status=status) == (0.5 if status == 500 else None)


def test_no_error_and_no_status_is_no_retry():
    assert delay() is None


@pytest.mark.parametrize(("value", "expected"), [
    ("0", 0.0),
    ("7", 7.0),
    (" 12 ", 12.0),
    ("120", 120.0),                                        # the cap itself is accepted
    (formatdate(NOW + 30, usegmt=True), 30.0),             # IMF-fixdate
    (time.strftime("%A, %d-%b-%y %H:%M:%S GMT", time.gmtime(NOW + 60)), 60.0),  # RFC 850
    (time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(NOW + 90)), 90.0),      # asctime
    (formatdate(NOW - 3600, usegmt=True), 0.0),            # in the past: now
])  # fmt: skip
@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_for_429_and_503(status, value, expected):
    assert delay(status=status, headers={"Retry-After": value}) == expected
    assert delay(status=status, headers=Headers([("retry-after", value)])) == expected


@pytest.mark.parametrize("value", ["121", "3600", formatdate(NOW + 7200, usegmt=True)])
def test_retry_after_above_the_cap_gives_up(value):
    assert delay(status=503, headers={"Retry-After": value}) is None
    assert delay(Retry(max_retry_after=10_000), status=503,
                 headers={"Retry-After": value}) is not None


@pytest.mark.parametrize("value", ["+5", "-1", "5.5", "1_0", "\u0665", "soon", "", "0x10"])
def test_an_unreadable_retry_after_falls_back_to_backoff(value):
    assert delay(attempt=2, status=503, headers={"Retry-After": value}) == 1.0


def test_retry_after_is_ignored_when_not_respected_or_not_429_503():
    headers = {"Retry-After": "3600"}
    assert delay(Retry(respect_retry_after=False), status=503, headers=headers) == 0.5
    assert delay(status=502, headers=headers) == 0.5
    assert delay(status=504, headers=headers) == 0.5


# -- the loop, without sockets ----------------------------------------------------------------


class FakeResponse:
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.headers = Headers(headers or {})
        self.discarded = False

    def discard(self) -> None:
        self.discarded = True


def test_the_loop_discards_retried_responses_and_returns_the_last():
    answers = [FakeResponse(503), FakeResponse(502), FakeResponse(503), FakeResponse(503)]
    waits: list[float] = []
    last = send_with_retries(POLICY, "GET", True, iter(answers).__next__, waits.append)
    assert last is answers[3] and not last.discarded
    assert [a.discarded for a in answers[:3]] == [True, True, True]
    assert waits == [0.5, 1.0, 2.0]


def test_the_loop_raises_the_last_error_when_retries_run_out():
    errors = iter([ConnectError(111, "one"), ConnectError(111, "two")])

    def attempt():
        raise next(errors)

    waits: list[float] = []
    with pytest.raises(ConnectError, match="two"):
        send_with_retries(Retry(total=1), "POST", True, attempt, waits.append)
    assert waits == [0.5]


# -- over loopback ----------------------------------------------------------------------------


@pytest.fixture
def waits(monkeypatch):
    """The delays the session slept (recorded, not slept); ``waits.hooks`` run on each."""
    recorded: list[float] = []
    hooks: list = []

    def sleep(seconds: float) -> None:
        recorded.append(seconds)
        for hook in hooks:
            hook(len(recorded))

    monkeypatch.setattr(retries_module, "time", types.SimpleNamespace(sleep=sleep,
                                                                      time=time.time))
    return types.SimpleNamespace(list=recorded, hooks=hooks)


def scripted_app(statuses: list[tuple[str, list[tuple[str, str]]]], log: list):
    """Answers the scripted statuses in turn (then 200), logging each request's client port
    and method."""
    def app(environ, start_response):
        read_body(environ)
        log.append((environ["REMOTE_PORT"], environ["REQUEST_METHOD"]))
        status, headers = statuses[len(log) - 1] if len(log) <= len(statuses) else ("200 OK", [])
        body = f"answer {len(log)}".encode() + b"." * 1000
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    return app


UNAVAILABLE_NOW = ("503 Service Unavailable", [("Retry-After", "0")])


def test_503_twice_then_200_on_the_same_connection(wsgi_server, waits):
    log: list = []
    url = wsgi_server(scripted_app([UNAVAILABLE_NOW, UNAVAILABLE_NOW], log))
    with Session(retries=3) as session:
        response = session.get(url)
    assert response.status == 200 and response.text.startswith("answer 3")
    assert waits.list == [0.0, 0.0]  # Retry-After: 0, not the 0.5 s backoff
    assert len(log) == 3 and len({port for port, _ in log}) == 1  # discarded, then reused


def test_without_retries_the_503_is_the_answer(wsgi_server, waits):
    log: list = []
    url = wsgi_server(scripted_app([UNAVAILABLE_NOW], log))
    with Session() as session, pytest.raises(HTTPError) as info:
        session.get(url)
    assert info.value.status == 503 and len(log) == 1 and waits.list == []
    with Session(retries=3) as session:  # and a per-call None wins over the session's policy
        assert session.get(url, retries=None).status == 200
    assert len(log) == 2 and waits.list == []


def test_a_post_that_gets_503_is_not_retried(wsgi_server, waits):
    log: list = []
    url = wsgi_server(scripted_app([UNAVAILABLE_NOW], log))
    with Session(retries=3) as session, pytest.raises(HTTPError) as info:
        session.post(url, data=b"order one pizza")
    assert info.value.status == 503
    assert log == [(log[0][0], "POST")] and waits.list == []


def test_retry_after_above_the_cap_returns_the_503_at_once(wsgi_server, waits):
    log: list = []
    url = wsgi_server(scripted_app([("503 Service Unavailable", [("Retry-After", "3600")])],
                                   log))
    started = time.monotonic()
    with Session(retries=3, raise_for_status=False) as session:
        response = session.get(url)
    assert response.status == 503 and response.headers["retry-after"] == "3600"
    assert len(log) == 1 and waits.list == []
    assert time.monotonic() - started < 5


def test_backoff_without_retry_after_and_a_per_call_policy(wsgi_server, waits):
    log: list = []
    url = wsgi_server(scripted_app([("502 Bad Gateway", [])] * 2, log))
    with Session() as session:
        response = session.get(url, retries=Retry(total=2, backoff=0.25))
    assert response.status == 200 and waits.list == [0.25, 0.5] and len(log) == 3


def test_a_body_that_cannot_be_replayed_is_not_retried(wsgi_server, waits):
    log: list = []
    url = wsgi_server(scripted_app([UNAVAILABLE_NOW], log))
    with Session(retries=3, raise_for_status=False) as session:
        assert session.put(url, data=iter([b"once ", b"only"])).status == 503
        assert session.put(url, data=b"again").status == 200  # bytes can be sent twice
    assert [method for _, method in log] == ["PUT", "PUT"]


@pytest.fixture
def dropping_server():
    """Drops (closes without answering) the first ``drops`` requests it reads, then answers
    200; ``seen`` counts the requests."""
    listener = socket.create_server(("127.0.0.1", 0))
    state = types.SimpleNamespace(drops=1, seen=0, lock=threading.Lock())

    def serve(conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            with state.lock:
                state.seen += 1
                drop = state.seen <= state.drops
            if not drop:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n"
                             b"\r\nok")

    serve_each(listener, serve)
    state.url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    yield state
    listener.close()


def test_a_dropped_connection_is_retried_for_get(dropping_server, waits):
    with Session(retries=Retry(total=2)) as session:
        assert session.get(dropping_server.url).text == "ok"
    assert dropping_server.seen == 2 and waits.list == [0.5]


def test_a_dropped_connection_is_not_retried_for_post(dropping_server, waits):
    with Session(retries=Retry(total=2)) as session, pytest.raises(RemoteProtocolError):
        session.post(dropping_server.url, data=b"x")
    assert dropping_server.seen == 1 and waits.list == []


def test_retries_run_out_and_the_last_error_is_raised(dropping_server, waits):
    dropping_server.drops = 10
    with Session(retries=2) as session, pytest.raises(RemoteProtocolError):
        session.get(dropping_server.url)
    assert dropping_server.seen == 3 and waits.list == [0.5, 1.0]


def test_a_read_timeout_is_retried_for_get(waits):
    listener = socket.create_server(("127.0.0.1", 0))
    release = threading.Event()
    count = types.SimpleNamespace(n=0)

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            count.n += 1
            if count.n == 1:
                release.wait(10)  # never answers the first request in time
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate")

    serve_each(listener, serve)
    try:
        with Session(retries=1, timeout=(5, 0.3)) as session:
            started = time.monotonic()
            assert session.get(f"http://127.0.0.1:{listener.getsockname()[1]}/").text == "late"
            assert time.monotonic() - started >= 0.3  # the first attempt did time out
        assert waits.list == [0.5] and count.n == 2
    finally:
        release.set()
        listener.close()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_refused_connection_is_retried_for_every_method(waits, method):
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens: the first attempt is refused
    listeners: list[socket.socket] = []

    def open_the_port(attempts: int) -> None:
        # Runs when the session sleeps before retrying: now something listens there.
        if attempts == 1:
            listener = socket.create_server(("127.0.0.1", port))
            listeners.append(listener)

            def serve(conn: socket.socket) -> None:
                with conn:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nup")

            serve_each(listener, serve)

    waits.hooks.append(open_the_port)
    try:
        with Session(retries=3) as session:
            assert session.request(method, f"http://127.0.0.1:{port}/").text == "up"
        assert waits.list == [0.5]
    finally:
        for listener in listeners:
            listener.close()


def test_a_name_that_does_not_resolve_is_not_retried(waits):
    with Session(retries=3) as session, pytest.raises(LookupFailed):
        session.get("http://no-such-host.invalid/")
    assert waits.list == []
