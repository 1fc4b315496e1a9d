"""Retrying a request: whether, and after how long (a pure policy, like ``redirects.next_hop``).

Retries are opt-in (``Session(retries=3)``): a retried request is one the server may see twice,
so the rules below only repeat what is safe to repeat (RFC 9110 §9.2.2, "idempotent methods")
or what never reached the server at all.

=====================================================  ==========================================
what happened                                          retried for
=====================================================  ==========================================
the connection was refused or could not be opened      every method: nothing was sent
(``ConnectError``, a connect timeout, no pooled        (curl ``--retry-connrefused``, urllib3
connection free in time: ``PoolTimeout``)              ``connect``)
a proxy answered ``CONNECT`` with a status in          every method: nothing reached the origin
``statuses``
the connection dropped, was reset or timed out after   idempotent methods only (urllib3 ``read``):
the request went out (``ConnectionClosed``, a read     the server may have acted on it
timeout, "closed without a response")
a status in ``statuses`` (429, 502, 503, 504)          idempotent methods only; 429 and 503 wait
                                                       for ``Retry-After`` (§10.2.3, RFC 6585 §4)
a name that does not resolve, a TLS or certificate     never: the next attempt fails the same way
failure, a bad URL, a refused redirect, a limit
a body that cannot be produced twice (an iterator)     never, whatever happened
=====================================================  ==========================================

The wait is ``backoff * 2 ** (attempt - 1)`` seconds, at most ``max_backoff`` (urllib3's
``backoff_factor``), optionally with "full jitter" (a uniform draw below it) so that many
clients do not come back in step. A ``Retry-After`` the server sends replaces it; one longer
than ``max_retry_after`` means "not soon": the response is returned rather than sleeping for
hours. When the retries run out, the last response is returned (or the last error raised).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Final

from wirekit.errors import (
    ConfigError,
    ConnectError,
    LookupFailed,
    NetworkError,
    RemoteProtocolError,
    Timeout,
    TLSError,
)
from wirekit.http.client.errors import ContentDecodingError, ProxyError, RedirectError
from wirekit.http.client.pool import PoolTimeout
from wirekit.proto.http import Headers

if TYPE_CHECKING:
    from wirekit.http.client.response import Response

__all__ = ["IDEMPOTENT_METHODS", "RETRY_STATUSES", "Retry", "RetryArg", "retry_delay",
           "send_with_retries", "to_retry"]  # fmt: skip

#: RFC 9110 §9.2.2: a second request has the same effect on the server as the first.
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
#: Too many requests, bad gateway, unavailable, gateway timeout: "try again later" answers.
RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
_RETRY_AFTER_STATUSES: Final = frozenset({429, 503})  # RFC 9110 §10.2.3, RFC 6585 §4


@dataclass(frozen=True, slots=True)
class Retry:
    """How often and how patiently to try again.

    ``total``: retries after the first attempt (3, as urllib3's ``Retry.DEFAULT``: enough to
    ride out a restart without hiding an outage). ``backoff`` seconds before the first
    retry, doubling each time up to ``max_backoff`` (urllib3 caps at 120 s; 30 s keeps a
    call's worst case near two minutes). ``jitter``: draw each wait uniformly below that.
    ``statuses`` and ``methods``: which answers are retried, and for which methods.
    ``respect_retry_after``: wait as ``Retry-After`` says, unless it asks for more than
    ``max_retry_after`` seconds (then give up and return the response).
    """

    total: int = 3
    backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: bool = False  # off by default: the same policy always waits the same
    statuses: frozenset[int] = RETRY_STATUSES
    methods: frozenset[str] = IDEMPOTENT_METHODS
    respect_retry_after: bool = True
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if isinstance(self.total, bool) or not isinstance(self.total, int) or self.total < 0:
            raise ConfigError(f"Retry(total=) takes a count >= 0, got {self.total!r}")
        for name in ("backoff", "max_backoff", "max_retry_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"Retry({name}=) takes seconds >= 0, got {value!r}")
        # Accept any iterable of statuses or method names; keep them as frozen sets.
        object.__setattr__(self, "statuses", frozenset(self.statuses))
        object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))


RetryArg = Retry | int | None


def to_retry(value: RetryArg) -> Retry | None:
    """``retries=`` as a policy: ``None`` or 0 for none, a count, or a ``Retry``."""
    if value is None or isinstance(value, Retry):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"retries= takes None, a count or a Retry, got {value!r}")
    return None if value == 0 else Retry(total=value)


def retry_delay(
    policy: Retry, attempt: int, method: str, *, error: BaseException | None = None,
    status: int | None = None, headers: Headers | Mapping[str, str] | None = None,
    replayable: bool = True, now: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float | None:  # fmt: skip
    """Seconds to wait before retry number ``attempt`` (1 for the first), or ``None``: do
    not retry. Give the ``error`` the attempt raised, or the ``status`` and ``headers`` it
    answered; ``replayable`` is False for a body that cannot be sent twice; ``now`` (the
    POSIX time, default the clock) dates a ``Retry-After`` HTTP-date; ``rand`` draws jitter."""
    if attempt > policy.total or not replayable:
        return None
    idempotent = method.upper() in policy.methods
    if error is not None:
        if not _error_retried(error, policy, idempotent):
            return None
    elif status is None or status not in policy.statuses or not idempotent:
        return None
    elif policy.respect_retry_after and status in _RETRY_AFTER_STATUSES:
        wait = _retry_after(headers, time.time() if now is None else now)
        if wait is not None:
            return wait if wait <= policy.max_retry_after else None
    delay = min(policy.backoff * 2 ** (attempt - 1), policy.max_backoff)
    return rand() * delay if policy.jitter else delay


def _error_retried(error: BaseException, policy: Retry, idempotent: bool) -> bool:
    """Whether ``error`` may be retried (the table in the module docstring)."""
    if isinstance(error, ProxyError):
        return error.status is not None and error.status in policy.statuses
    if isinstance(error, LookupFailed | TLSError | RedirectError | ContentDecodingError):
        return False
    if isinstance(error, ConnectError | PoolTimeout):
        return True  # nothing was sent
    if isinstance(error, Timeout):
        return error.phase.startswith("connect") or idempotent
    # Dropped, reset, closed without (or in the middle of) a response: sent, maybe processed.
    return isinstance(error, NetworkError | RemoteProtocolError) and idempotent


def _retry_after(headers: Headers | Mapping[str, str] | None, now: float) -> float | None:
    """Seconds ``Retry-After`` asks for (RFC 9110 §10.2.3: delay-seconds or an HTTP-date;
    a date in the past is 0), or ``None`` when absent or unreadable (then back off)."""
    if headers is None:
        return None
    if isinstance(headers, Headers):
        value = headers.get("retry-after")
    else:
        value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip(" \t")
    if value.isdigit() and value.isascii():  # 1*DIGIT, never int()'s "+5" or "1_0"
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP-dates are always GMT (§5.6.7)
    return max(0.0, when.timestamp() - now)


def send_with_retries(policy: Retry, method: str, replayable: bool,
                      attempt: Callable[[], Response],
                      sleep: Callable[[float], object] | None = None) -> Response:
    """Run ``attempt`` (one exchange, redirects included) until it succeeds, the policy
    says stop, or the retries run out; a response that is retried is discarded first (its
    connection drained for reuse, or closed). ``sleep`` waits (default ``time.sleep``,
    looked up at each call)."""
    sleep = sleep or time.sleep
    retry = 0
    while True:
        retry += 1
        try:
            response = attempt()
        except Exception as exc:
            delay = retry_delay(policy, retry, method, error=exc, replayable=replayable)
            if delay is None:
                raise
            sleep(delay)
            continue
        if response.status not in policy.statuses:
            return response
        delay = retry_delay(policy, retry, method, status=response.status,
                            headers=response.headers, replayable=replayable)
        if delay is None:
            return response
        response.discard()
        sleep(delay)
