"""The LLM enricher and its client, against an HTTP stand-in speaking the chat-completions wire format."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from common.ai.llm import OpenAiCompatibleClient
from common.config import load_settings
from common.errors import EnrichmentError, LlmError, LlmUnavailable
from common.ingestion.enrichment import OfflineEnricher, PageContent
from common.ingestion.llm_enrichment import LlmEnricher
from common.runtime.ai import build_enricher
from tests.support.llm_standin import LlmStandin, Scripted

GOOD = {
    "doc_type": "how-to",
    "topics": ["VPN", "remote-work"],
    "audience": ["all-employees"],
    "complexity": "beginner",
    "summary": "How to connect to the company VPN from home.",
}
PAGE = PageContent(
    title="VPN Setup",
    labels=("vpn",),
    headers=("Install", "Connect"),
    chunk_texts=("Install GlobalProtect from Self Service.", "Connect to vpn.larkspur.example."),
    chunk_types=("list", "text"),
    embeddings=np.zeros((2, 384), dtype=np.float32),
)


@pytest.fixture
def llm() -> Iterator[LlmStandin]:
    with LlmStandin() as standin:
        yield standin


def _enricher(llm: LlmStandin) -> LlmEnricher:
    return LlmEnricher(
        OpenAiCompatibleClient(base_url=llm.url, api_key="sk-test", model="test-model", timeout_seconds=5)
    )


def test_llm_answer_becomes_ai_metadata(llm: LlmStandin) -> None:
    llm.reply_json(GOOD)

    ai = _enricher(llm).enrich(PAGE)

    assert (ai.doc_type, ai.topics, ai.complexity) == ("how-to", ("vpn", "remote-work"), "beginner")


def test_request_carries_the_page_and_asks_for_json(llm: LlmStandin) -> None:
    llm.reply_json(GOOD)

    _enricher(llm).enrich(PAGE)

    [request] = llm.requests
    assert request["model"] == "test-model"
    assert request["response_format"] == {"type": "json_object"}
    assert "VPN Setup" in request["messages"][1]["content"]


def test_rate_limit_is_retried_after_the_providers_delay(llm: LlmStandin) -> None:
    llm.reply(Scripted(status=429, retry_after=1))
    llm.reply_json(GOOD)

    _enricher(llm).enrich(PAGE)

    assert llm.request_times[1] - llm.request_times[0] >= 0.95


def test_server_errors_are_retried_then_reported_as_unavailable(llm: LlmStandin) -> None:
    client = OpenAiCompatibleClient(
        base_url=llm.url, api_key=None, model="m", timeout_seconds=5, max_attempts=2
    )
    for _ in range(2):
        llm.reply(Scripted(status=503))

    with pytest.raises(LlmUnavailable, match="LLM_API_URL"):
        LlmEnricher(client).enrich(PAGE)
    assert len(llm.requests) == 2


def test_refused_credentials_name_the_setting(llm: LlmStandin) -> None:
    llm.reply(Scripted(status=401))

    with pytest.raises(LlmError, match="LLM_API_KEY"):
        _enricher(llm).enrich(PAGE)


def test_a_value_outside_the_vocabulary_is_refused_naming_the_field(llm: LlmStandin) -> None:
    llm.reply_json(GOOD | {"doc_type": "essay"})

    with pytest.raises(EnrichmentError, match="doc_type"):
        _enricher(llm).enrich(PAGE)


def test_a_reply_that_is_not_json_is_an_error(llm: LlmStandin) -> None:
    llm.reply(Scripted(content="Sure! Here is the metadata: ..."))

    with pytest.raises(LlmError, match="JSON"):
        _enricher(llm).enrich(PAGE)


def test_the_llm_enricher_is_used_only_when_configured(llm: LlmStandin) -> None:
    assert isinstance(build_enricher(load_settings()), OfflineEnricher)
    assert isinstance(build_enricher(load_settings(llm_api_url=llm.url)), LlmEnricher)
