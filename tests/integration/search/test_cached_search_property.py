"""Searching through the candidate cache (`common.search.chunk_cache`) returns exactly what reading every
candidate from Chroma returns, whatever was written since the cache read them: the chunks' quality,
freshness, reviews and restrictions, for any reader, filters and number of results.

The sample space is indexed once (real model, embedded Chroma). Each example writes random ranking signals
and restrictions onto its chunks through the store, as votes, reviews and syncs do, then runs one question
through two retrievers on that store: one whose cache has been kept since the first example, and one
without a cache.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.config import load_settings
from common.confluence.folder_source import FolderPageSource
from common.permissions.readers import ConfluenceReader
from common.runtime.ai import build_embedder
from common.runtime.search import build_keyword_cache, build_ranking_weights
from common.runtime.store import build_store
from common.search.chunk_cache import CachedChunkReader
from common.search.filters import SearchFilters
from common.search.retriever import HybridRetriever
from common.store.access import EVERYONE, Reader, ReadRule
from common.store.chunk import access_fields
from common.store.chunk_store import ChunkStore
from tests.support.runs import run_sync
from tests.support.sample_space import SAMPLE_SPACE

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
QUESTIONS = (
    "How do I connect to the VPN from home?",
    "How many weeks of parental leave do I get?",
    "How do I file an expense report?",
    "What is the deploy process?",
    "password reset",
    "laptop",
)
GROUPS = ("eng", "hr")
QUALITIES = (0.0, 10.0, 50.0, 50.0, 50.0, 90.0, 100.0)
AGES_DAYS = (0.0, 0.5, 30.0, 400.0, -3.0)
"""-3: an `updated_at` a little in the future (clock skew) still earns no more than today's bonus."""


@dataclass(frozen=True)
class Indexed:
    store: ChunkStore
    chunk_ids: list[str]
    cached: HybridRetriever
    uncached: HybridRetriever


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    settings = load_settings(kb_home=tmp_path_factory.mktemp("lazy-ranking") / "kb-home")
    run_sync(settings, source=FolderPageSource(SAMPLE_SPACE))
    store = build_store(settings)
    embedder = build_embedder(settings)
    keywords = build_keyword_cache(settings, store)

    def retriever(cache_capacity: int) -> HybridRetriever:
        return HybridRetriever(
            store=store,
            chunks=CachedChunkReader(store, capacity=cache_capacity, max_age_seconds=3600),
            embedder=embedder,
            keywords=keywords,
            alpha=settings.search_alpha,
            candidates=settings.search_candidates,
            max_per_page=settings.search_max_per_page,
            weights=build_ranking_weights(settings),
            clock=lambda: NOW,
        )

    return Indexed(store, sorted(store.get_metadata()), retriever(20_000), retriever(0))


@st.composite
def signals(draw: st.DrawFn, chunk_ids: list[str]) -> dict[str, dict[str, object]]:
    """Random ranking signals and restrictions for a random share of the chunks: the rest stay as the
    cache holds them. Drawn from one seeded generator, since 485 chunks' worth of separate draws is more
    than Hypothesis can shrink."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    share = draw(st.sampled_from((0.0, 0.05, 0.3, 1.0)))
    rules = (None, None, None, *(ReadRule(groups=(g,)) for g in GROUPS))
    updates: dict[str, dict[str, object]] = {}
    for chunk_id in chunk_ids:
        if rng.random() >= share:
            continue
        updated = NOW - timedelta(days=rng.choice(AGES_DAYS))
        rule = rng.choice(rules)
        updates[chunk_id] = {
            "quality_score": rng.choice(QUALITIES),
            "updated_at": updated,
            "reviewed_at": rng.choice((None, updated, NOW - timedelta(days=400))),
            **access_fields((rule,) if rule else ()),
        }
    return updates


def _reader(groups: frozenset[str]) -> Reader:
    """Someone in `groups` asking in a DM, or anyone in a channel."""
    return ConfluenceReader("acc-reader", groups) if groups else EVERYONE


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_search_through_the_kept_cache_returns_what_reading_every_candidate_returns(
    indexed: Indexed, data: st.DataObject
) -> None:
    updates = data.draw(signals(indexed.chunk_ids))
    if updates:
        indexed.store.batch_update_metadata(updates)
    question = data.draw(st.sampled_from(QUESTIONS))
    top_k = data.draw(st.sampled_from((1, 3, 5, 10, 20)))
    filters = data.draw(
        st.sampled_from(
            (
                SearchFilters(),
                SearchFilters(max_classification="confidential"),
                SearchFilters(max_classification="public"),
                SearchFilters(chunk_types=("table",)),
            )
        )
    )
    reader = _reader(data.draw(st.frozensets(st.sampled_from(GROUPS))))

    cached = indexed.cached.search(question, top_k=top_k, filters=filters, reader=reader)
    uncached = indexed.uncached.search(question, top_k=top_k, filters=filters, reader=reader)

    assert [r.as_dict() for r in cached] == [r.as_dict() for r in uncached]
