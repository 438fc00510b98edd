"""The HTTP session under the Confluence client: retries, backoff, Retry-After and timeouts in one place.

atlassian-python-api has a retry loop of its own, but it sleeps up to 1,800 s on a 429's Retry-After and
keeps its timeout as `int(timeout)` (0.5 s becomes 0, which requests rejects). We switch its loop off and
hand it a `requests.Session` whose adapter does all the retrying (urllib3's `Retry`) with the exact timeout.

urllib3 2.x honours a Retry-After of up to `retry_after_max` seconds (six hours by default), independently
of `backoff_max`, so a server saying "Retry-After: 18000" would stall a sync for five hours. `CappedRetry`
gives up at once instead when Retry-After is above our cap: retrying earlier than asked only burns retries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import InvalidHeader, MaxRetryError, ResponseError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Answers worth another try: rate limiting and the gateway/overload family. Other 4xx do not heal."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one request before giving up; quoted back in error messages so operators see it."""

    max_retries: int
    timeout_seconds: float
    max_retry_after_seconds: float
    backoff_factor: float = 1.0
    backoff_max_seconds: float = 60.0
    backoff_jitter_seconds: float = 1.0

    def backoff_schedule(self) -> list[float]:
        """Seconds urllib3 waits before each retry (no Retry-After): none before the first, then
        factor * 2^(n-1), capped at `backoff_max_seconds`; jitter comes on top of all but the first."""
        return [
            0.0 if n == 1 else min(self.backoff_max_seconds, self.backoff_factor * 2 ** (n - 1))
            for n in range(1, self.max_retries + 1)
        ]

    def describe(self) -> str:
        """One sentence naming what was tried, for `SourceUnavailable` messages."""
        waits = ", ".join(f"{wait:g}" for wait in self.backoff_schedule()) or "none"
        return (
            f"{self.max_retries} retries with exponential backoff (waits of {waits} s, plus up to "
            f"{self.backoff_jitter_seconds:g} s jitter), a {self.timeout_seconds:g} s timeout per attempt, "
            f"and Retry-After honoured up to {self.max_retry_after_seconds:g} s"
        )


class CappedRetry(Retry):
    """urllib3's `Retry`, except that a Retry-After above `retry_after_cap` stops retrying at once."""

    def __init__(self, *, retry_after_cap: float = 120.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retry_after_cap = retry_after_cap

    def new(self, **kw: Any) -> Self:
        """urllib3 rebuilds the object on every attempt from its own fields; carry ours across."""
        fresh = super().new(**kw)
        fresh.retry_after_cap = self.retry_after_cap
        return fresh

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        """A malformed Retry-After falls back to exponential backoff instead of failing the request."""
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            log.warning("Ignoring malformed Retry-After header %r", response.headers.get("Retry-After"))
            return None

    def sleep_for_retry(self, response: BaseHTTPResponse) -> bool:
        """Never sleep past the cap, even if a caller bypasses `increment`'s refusal."""
        wait = self.get_retry_after(response)
        if not wait:
            return False
        time.sleep(min(wait, self.retry_after_cap))
        return True

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        if response is not None and _pool is not None and self.respect_retry_after_header:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.retry_after_cap:
                # With raise_on_status=False the pool hands this response back to the caller unchanged.
                reason = ResponseError(f"Retry-After {wait:g} s is above the {self.retry_after_cap:g} s cap")
                raise MaxRetryError(_pool, url, reason)
        return super().increment(method, url, response, error, _pool, _stacktrace)


class TimeoutAdapter(HTTPAdapter):
    """Applies one exact timeout (connect and read) to every request sent through the session."""

    def __init__(self, *, retry: Retry, timeout_seconds: float) -> None:
        super().__init__(max_retries=retry)
        self.timeout_seconds = timeout_seconds

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        response: requests.Response = super().send(
            request, stream=stream, timeout=self.timeout_seconds, verify=verify, cert=cert, proxies=proxies
        )
        return response


def build_retry(policy: RetryPolicy) -> CappedRetry:
    """Retry GETs on connect/read errors and `RETRY_STATUSES`; return the last answer when retries run out."""
    return CappedRetry(
        retry_after_cap=policy.max_retry_after_seconds,
        total=policy.max_retries,
        connect=policy.max_retries,
        read=policy.max_retries,
        status=policy.max_retries,
        other=0,
        redirect=5,
        allowed_methods=frozenset({"GET"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=policy.backoff_factor,
        backoff_max=policy.backoff_max_seconds,
        backoff_jitter=policy.backoff_jitter_seconds,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def build_session(policy: RetryPolicy) -> requests.Session:
    """A session whose every http(s) request goes through `TimeoutAdapter` with `CappedRetry`."""
    session = requests.Session()
    adapter = TimeoutAdapter(retry=build_retry(policy), timeout_seconds=policy.timeout_seconds)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
