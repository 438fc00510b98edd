"""One guarded connection to a Chroma collection: every call goes through retries, the circuit breaker
and the mapping of Chroma's many failure shapes onto `StoreUnavailable` (retry later) and `StoreError`
(fix the request), so nothing above it ever sees an httpx or chromadb exception.

- every call has a timeout (set by `common.store.client`);
- transport errors are retried with exponential backoff and jitter; nothing else is, because a refused
  request will be refused again;
- the breaker fails fast while the server is down and lets a trial call through after a pause.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import httpx
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.errors import ChromaError, InternalError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from common.errors import KbError, StoreError, StoreUnavailable
from common.logs import get_logger
from common.store.breaker import CircuitBreaker

T = TypeVar("T")
log = get_logger(__name__)


class ChromaConnection:
    def __init__(
        self,
        *,
        connect: Callable[[], ClientAPI],
        collection_name: str,
        target: str,
        ef_search: int,
        retries: int,
        breaker: CircuitBreaker,
    ) -> None:
        self._connect = connect
        self._collection_name = collection_name
        self._target = target
        self._ef_search = ef_search
        self._retries = retries
        self._breaker = breaker
        self._client: ClientAPI | None = None
        self._col: Collection | None = None
        self._companions: dict[str, Collection] = {}
        self._connecting = threading.RLock()

    @property
    def client(self) -> ClientAPI:
        """The connected client; only valid inside a `call`."""
        assert self._client is not None
        return self._client

    def companion(self, name: str) -> Collection:
        """A small collection beside the main one, on the same client; only valid inside a `call`.

        Looked up once per client: asking the server for it on every vote would double the calls."""
        with self._connecting:
            found = self._companions.get(name)
            if found is None:
                found = self.client.get_or_create_collection(name, embedding_function=None)
                self._companions[name] = found
            return found

    def call(self, operation: str, fn: Callable[[Collection], T]) -> T:
        if not self._breaker.allow():
            raise StoreUnavailable(
                f"{self._target} is failing; next try in {self._breaker.seconds_until_retry():.0f} s "
                f"(circuit breaker open). Check that Chroma is running and reachable."
            )
        try:
            result = self._with_retries(operation, fn)
        except httpx.TransportError as exc:
            self._breaker.record_failure()
            self._col = None
            raise StoreUnavailable(
                f"Could not reach {self._target} for {operation} after {self._retries + 1} attempt(s): "
                f"{type(exc).__name__}: {exc}. Check that Chroma is running and reachable."
            ) from exc
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            if status >= 500:
                self._breaker.record_failure()
                raise StoreUnavailable(f"{self._target} answered HTTP {status} to {operation}.") from exc
            self._breaker.record_success()
            raise StoreError(
                f"{self._target} refused {operation} with HTTP {status}; check CHROMA_AUTH_TOKEN and the URL."
            ) from exc
        except InternalError as exc:
            self._breaker.record_failure()
            raise StoreUnavailable(
                f"{self._target} failed {operation} with an internal error: {exc}"
            ) from exc
        except (ChromaError, ValueError) as exc:
            self._breaker.record_success()
            raise StoreError(f"Chroma refused {operation} on {self._collection_name!r}: {exc}") from exc
        except KbError:
            self._breaker.record_success()
            raise
        except Exception as exc:
            # chromadb raises a bare Exception(body) when an error response is not JSON (a proxy's page).
            self._breaker.record_failure()
            self._col = None
            raise StoreUnavailable(
                f"{self._target} answered {operation} with something that is not Chroma's API "
                f"({type(exc).__name__}: {str(exc)[:200]}). Check that CHROMA_URL points at Chroma."
            ) from exc
        self._breaker.record_success()
        return result

    def _collection(self) -> Collection:
        """Connected once, by one thread: the first requests of a process arrive together."""
        with self._connecting:
            if self._col is None:
                client = self._connect()
                self._col = client.get_or_create_collection(
                    self._collection_name,
                    configuration={"hnsw": {"space": "cosine", "ef_search": self._ef_search}},
                    embedding_function=None,
                )
                self._client = client
                self._companions = {}
            return self._col

    def _with_retries(self, operation: str, fn: Callable[[Collection], T]) -> T:
        retrying = Retrying(
            retry=retry_if_exception_type(httpx.TransportError),
            stop=stop_after_attempt(self._retries + 1),
            wait=wait_exponential_jitter(multiplier=0.2, max=2.0),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "chroma_retry", operation=operation, attempt=state.attempt_number, target=self._target
            ),
        )
        for attempt in retrying:
            with attempt:
                try:
                    return fn(self._collection())
                except httpx.TransportError:
                    self._col = None
                    raise
        raise AssertionError("unreachable: tenacity reraises the last error")
