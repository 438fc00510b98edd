"""The search HTTP API, independent of the web framework: a request in, a status, JSON body and headers out.

Every bad request gets a 400 saying what is wrong; a missing or wrong key a 401; a Chroma outage a 503
with `Retry-After`; nothing ever answers with a stack trace.

Results are what every member of the site may read (unrestricted pages), unless the request names
`as_user` (a Confluence account id or email) and carries SEARCH_AS_USER_API_KEY, the key of a caller
trusted to search on someone's behalf; then they are what that person may read, and `access` says whether
their permissions could be resolved (when not, only unrestricted pages are returned: it fails closed).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from common.errors import InvalidSearchRequest, KbError, ServiceUnavailable
from common.infra.http_reply import HttpReply
from common.logs import get_logger
from common.search.access_tracking import AccessRecorder
from common.search.filters import parse_filters
from common.search.retriever import HybridRetriever
from common.store.access import EVERYONE, Reader

log = get_logger(__name__)

MAX_QUERY_CHARS = 2000
MAX_BODY_BYTES = 64 * 1024
RETRY_AFTER_SECONDS = 30


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    top_k: StrictInt = Field(10, ge=1, le=50)
    filters: dict[str, Any] = Field(default_factory=dict)
    as_user: str | None = Field(None, min_length=1, max_length=200)

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must contain more than whitespace")
        return value.strip()


class AccessView(Protocol):
    """Whose access a search runs with (`common.permissions.access.Access`)."""

    @property
    def reader(self) -> Reader: ...

    @property
    def status(self) -> str: ...

    @property
    def note(self) -> str: ...


class SearchEndpoint:
    """`retriever` and `recorder` are called on the first search, not before, so a cold instance answers
    /healthz at once instead of loading the embedding model first."""

    def __init__(
        self,
        *,
        api_key: str | None,
        as_user_api_key: str | None,
        retriever: Callable[[], HybridRetriever],
        recorder: Callable[[], AccessRecorder],
        access_of: Callable[[str], AccessView],
    ) -> None:
        self._api_key = api_key
        self._as_user_api_key = as_user_api_key
        self._retriever = retriever
        self._recorder = recorder
        self._access_of = access_of

    def handle(self, *, method: str, path: str, body: bytes, authorization: str | None) -> HttpReply:
        if method == "GET" and path.rstrip("/") == "/healthz":
            return HttpReply(200, {"status": "ok"})
        if method != "POST":
            return HttpReply(405, _error("method_not_allowed", "Use POST with a JSON body, or GET /healthz."))
        trusted = self._as_user_api_key is not None and _authorised(authorization, self._as_user_api_key)
        if not trusted and self._api_key is not None and not _authorised(authorization, self._api_key):
            return HttpReply(401, _error("unauthorised", "Send `Authorization: Bearer <SEARCH_API_KEY>`."))
        try:
            request = parse_request(body)
        except InvalidSearchRequest as exc:
            return HttpReply(400, _error("invalid_request", str(exc)))
        if request.as_user is not None and not trusted:
            return HttpReply(
                403, _error("forbidden", "`as_user` needs `Authorization: Bearer <SEARCH_AS_USER_API_KEY>`.")
            )
        try:
            filters = parse_filters(request.filters)
            access = self._access_of(request.as_user) if request.as_user is not None else None
            reader = access.reader if access is not None else EVERYONE
            results = self._retriever().search(
                request.query, top_k=request.top_k, filters=filters, reader=reader
            )
        except InvalidSearchRequest as exc:
            return HttpReply(400, _error("invalid_request", str(exc)))
        except ServiceUnavailable as exc:
            log.error("search_unavailable", error=str(exc))
            return HttpReply(
                503,
                _error(
                    "unavailable",
                    "Search is temporarily unavailable; retry shortly.",
                    retry_after=RETRY_AFTER_SECONDS,
                ),
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        except KbError as exc:
            log.error("search_failed", error=str(exc), error_type=type(exc).__name__)
            return HttpReply(500, _error("internal", "Search failed; the error was logged."))
        query_id = self._recorder().record(results, source="search_api")
        reply: dict[str, Any] = {
            "query": request.query,
            "query_id": query_id,
            "results": [r.as_dict() for r in results],
        }
        if access is not None:
            reply["access"] = {"status": access.status, "note": access.note}
        return HttpReply(200, reply)


def parse_request(body: bytes) -> SearchRequest:
    if len(body) > MAX_BODY_BYTES:
        raise InvalidSearchRequest(f"The body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        raw = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidSearchRequest(f"The body is not JSON: {exc}.") from exc
    if not isinstance(raw, dict):
        raise InvalidSearchRequest('The body must be a JSON object like {"query": "…", "top_k": 10}.')
    try:
        return SearchRequest.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors()
        )
        raise InvalidSearchRequest(f"Invalid request ({problems}).") from exc


def _authorised(header: str | None, api_key: str) -> bool:
    scheme, _, token = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), api_key.encode())


def _error(code: str, message: str, **extra: object) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}
