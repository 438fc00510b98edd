"""Hybrid search over the synced sample space: relevance first, then what feedback and reviews taught us,
never anything above the caller's classification ceiling."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.config import Settings, load_settings
from common.confluence.folder_source import FolderPageSource
from common.errors import InvalidSearchRequest
from common.runtime.ai import build_embedder
from common.runtime.search import build_keyword_cache, build_retriever
from common.runtime.store import build_store
from common.search.filters import SearchFilters, parse_filters
from common.search.retriever import HybridRetriever, SearchResult
from common.store.access import EVERYONE
from common.store.chunk import Chunk
from tests.support.runs import run_sync
from tests.support.sample_space import SAMPLE_SPACE

EVERYTHING = SearchFilters(max_classification="confidential")


@pytest.fixture(scope="module")
def synced_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("search") / "kb-home"
    run_sync(load_settings(kb_home=home), source=FolderPageSource(SAMPLE_SPACE))
    return home


@pytest.fixture
def settings(synced_home: Path, kb_home: Path) -> Settings:
    shutil.copytree(synced_home, kb_home)
    return load_settings()


def _retriever(settings: Settings) -> HybridRetriever:
    return build_retriever(settings, build_store(settings))


def test_the_answering_page_ranks_first(settings: Settings) -> None:
    results = _retriever(settings).search(
        "How many weeks of parental leave do I get?", top_k=5, filters=EVERYTHING, reader=EVERYONE
    )

    assert results[0].page_title in {"HR FAQ", "Parental Leave"}
    assert "16 weeks" in results[0].text


def test_results_explain_their_score_parts(settings: Settings) -> None:
    [result] = _retriever(settings).search("VPN portal address", top_k=1, filters=EVERYTHING, reader=EVERYONE)

    parts = result.scores
    assert parts.final == pytest.approx(
        parts.relevance * parts.quality_factor * (1 + parts.freshness_bonus + parts.verified_bonus)
    )


def _rank_of(results: list[SearchResult], chunk_id: str) -> int:
    return next(i for i, r in enumerate(results) if chunk_id in r.chunk_ids)


def test_lowered_quality_moves_a_chunk_down_and_raised_quality_up(settings: Settings) -> None:
    retriever = _retriever(settings)
    store = build_store(settings)
    query = "How do I connect to the VPN from home?"
    before = retriever.search(query, top_k=10, filters=EVERYTHING, reader=EVERYONE)
    top, third = before[0].chunk_id, before[2].chunk_id

    store.batch_update_metadata({top: {"quality_score": 0.0}, third: {"quality_score": 100.0}})
    after = retriever.search(query, top_k=10, filters=EVERYTHING, reader=EVERYONE)

    assert _rank_of(after, top) > 0
    assert _rank_of(after, third) < 2


def test_a_uniquely_relevant_passage_is_demoted_never_hidden(settings: Settings) -> None:
    retriever = _retriever(settings)
    query = "How do I connect to the VPN from home?"
    [only] = retriever.search(query, top_k=1, filters=EVERYTHING, reader=EVERYONE)
    build_store(settings).update_metadata(only.chunk_id, {"quality_score": 0.0})

    results = retriever.search(query, top_k=10, filters=EVERYTHING, reader=EVERYONE)

    assert any(only.chunk_id in r.chunk_ids for r in results)


def test_a_recent_review_marks_results_verified(settings: Settings) -> None:
    retriever = _retriever(settings)
    [first] = retriever.search("parental leave weeks", top_k=1, filters=EVERYTHING, reader=EVERYONE)
    reviewed = datetime.now(UTC) - timedelta(days=3)
    build_store(settings).update_metadata(first.chunk_id, {"reviewed_at": reviewed, "reviewed_by": "x"})

    [again] = retriever.search("parental leave weeks", top_k=1, filters=EVERYTHING, reader=EVERYONE)

    assert again.verified and again.scores.verified_bonus > 0


@pytest.mark.parametrize("ceiling", ["public", "internal"])
def test_nothing_above_the_classification_ceiling_is_ever_returned(settings: Settings, ceiling: str) -> None:
    retriever = _retriever(settings)
    allowed = {"public": {"public"}, "internal": {"public", "internal"}}[ceiling]
    for query in (
        "data classification confidential",
        "incident postmortem",
        "salary",
        "VPN",
        "security policy",
    ):
        filters = parse_filters({"max_classification": ceiling})
        results = retriever.search(query, top_k=20, filters=filters, reader=EVERYONE)
        assert {r.classification for r in results} <= allowed, query


def test_filters_restrict_chunk_type_and_labels(settings: Settings) -> None:
    retriever = _retriever(settings)

    code = retriever.search("install", top_k=5, filters=SearchFilters(chunk_types=("code",)), reader=EVERYONE)
    labelled = retriever.search("how do I", top_k=5, filters=SearchFilters(labels=("vpn",)), reader=EVERYONE)

    assert code and all(r.chunk_type == "code" for r in code)
    metadata = build_store(settings).get_metadata(ids=[r.chunk_id for r in labelled])
    assert labelled and all("vpn" in {*m.labels, *m.topics} for m in metadata.values())


def test_no_page_fills_the_results_beyond_its_cap(settings: Settings) -> None:
    results = _retriever(settings).search("VPN", top_k=10, filters=EVERYTHING, reader=EVERYONE)

    pages = [r.page_id for r in results]
    assert max(pages.count(page) for page in pages) <= settings.search_max_per_page


def test_a_chunk_written_straight_to_chroma_becomes_keyword_searchable(settings: Settings) -> None:
    store = build_store(settings)
    cache = build_keyword_cache(load_settings(keyword_refresh_seconds=0), store)
    cache.get()
    template = store.get_chunks(where={"page_id": "1101"}, with_embeddings=True)[0]
    later = template.metadata.model_copy(update={"ingested_at": template.metadata.ingested_at + 60})
    store.upsert([Chunk("quick-1", "The zanzibar printer code is 4417.", later, template.embedding)])

    cache.get()  # notices the newer chunk and rebuilds in the background
    cache.wait_for_refresh()

    assert cache.get().search("zanzibar", k=1)[0].chunk_id == "quick-1"


def test_a_chunk_written_after_the_keyword_index_ranks_on_its_meaning_until_the_index_catches_up(
    settings: Settings,
) -> None:
    store = build_store(settings)
    retriever = build_retriever(load_settings(keyword_refresh_seconds=3600), store)
    question = "Where is the spare badge printer?"
    retriever.search(question, top_k=5, filters=EVERYTHING, reader=EVERYONE)  # the keyword index is built now
    template = store.get_chunks(where={"page_id": "1101"}, with_embeddings=True)[0]
    later = template.metadata.model_copy(
        update={
            "ingested_at": template.metadata.ingested_at + 60,
            "page_id": "quick-2",
            "page_title": "Office equipment",
        }
    )
    [embedding] = (
        build_embedder(settings).embed(["The spare badge printer is in room 2.14 on floor 2."]).tolist()
    )
    store.upsert([Chunk("quick-2", "The spare badge printer is in room 2.14 on floor 2.", later, embedding)])

    results = retriever.search(question, top_k=3, filters=EVERYTHING, reader=EVERYONE)

    assert results[0].chunk_id == "quick-2"


def test_unknown_filters_are_refused_naming_them() -> None:
    with pytest.raises(InvalidSearchRequest, match="colour"):
        parse_filters({"colour": "blue"})


def test_a_bad_classification_ceiling_is_refused() -> None:
    with pytest.raises(InvalidSearchRequest, match="max_classification"):
        parse_filters({"max_classification": "secret"})
