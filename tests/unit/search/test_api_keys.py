"""Which key lets a caller do what, decided before the body is read (an unauthenticated caller learns
nothing about what a valid request looks like)."""

from __future__ import annotations

import json

from common.search.api import SearchEndpoint


def _never() -> object:
    raise AssertionError("a refused request must not reach the search")


ENDPOINT = SearchEndpoint(
    api_key="plain-key",
    as_user_api_key="trusted-key",
    retriever=_never,  # type: ignore[arg-type]
    recorder=_never,  # type: ignore[arg-type]
    access_of=_never,  # type: ignore[arg-type]
)


def _post(body: bytes, authorization: str | None) -> int:
    return ENDPOINT.handle(method="POST", path="/", body=body, authorization=authorization).status


def test_a_malformed_body_without_a_key_is_401_not_400() -> None:
    assert _post(b"\xff not json", None) == 401


def test_as_user_with_the_plain_key_is_403() -> None:
    assert _post(json.dumps({"query": "vpn", "as_user": "a@b.example"}).encode(), "Bearer plain-key") == 403


def test_a_malformed_body_with_the_trusted_key_is_400() -> None:
    assert _post(b"{", "Bearer trusted-key") == 400
