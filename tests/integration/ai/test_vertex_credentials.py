"""The auth headers `VertexGeminiClient` sends: what its `credentials` callable returns, asked again before
every request, so a token refreshed between calls (as `AdcToken` does when one expires) is the one sent."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from common.ai.vertex import VertexGeminiClient
from tests.support.vertex_standin import Step, VertexStandin


class Tokens:
    """Credentials that hand out a new bearer token each time they are asked, as a refresh would."""

    def __init__(self) -> None:
        self.asked = 0

    def __call__(self) -> Mapping[str, str]:
        self.asked += 1
        return {"Authorization": f"Bearer token-{self.asked}"}


@pytest.fixture
def vertex() -> Iterator[VertexStandin]:
    with VertexStandin() as standin:
        yield standin


def _client(vertex: VertexStandin, tokens: Tokens) -> VertexGeminiClient:
    return VertexGeminiClient(
        base_url=vertex.url,
        project="kb-prod",
        location="europe-west1",
        model="gemini-2.5-flash",
        timeout_seconds=5,
        credentials=tokens,
    )


def test_every_request_carries_the_headers_the_credentials_give_at_that_moment(vertex: VertexStandin) -> None:
    tokens = Tokens()
    client = _client(vertex, tokens)
    vertex.reply_json({"n": 1})
    vertex.reply_json({"n": 2})

    client.complete_json(system="s", user="first")
    client.complete_json(system="s", user="second")

    assert [r.headers.get("Authorization") for r in vertex.requests] == ["Bearer token-1", "Bearer token-2"]


def test_a_retried_request_asks_the_credentials_again(vertex: VertexStandin) -> None:
    tokens = Tokens()
    vertex.reply(Step(status=429, retry_after=0))
    vertex.reply_json({"ok": True})

    _client(vertex, tokens).complete_json(system="s", user="u")

    assert [r.headers.get("Authorization") for r in vertex.requests] == ["Bearer token-1", "Bearer token-2"]


def test_without_credentials_no_authorization_header_is_sent(vertex: VertexStandin) -> None:
    vertex.reply_json({"ok": True})

    VertexGeminiClient(
        base_url=vertex.url, project="p", location="l", model="m", timeout_seconds=5
    ).complete_json(system="s", user="u")

    assert "Authorization" not in vertex.requests[0].headers
