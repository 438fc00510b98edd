"""Votes and reviews turned into chunk scores: deduplicated, exact, and safe with concurrent writers."""

from __future__ import annotations

import multiprocessing
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from common.config import Settings, load_settings
from common.quality.writer import QualityWriter
from common.runtime.quality import build_quality_writer
from common.runtime.store import build_store
from common.store.chunk import NEUTRAL_QUALITY_SCORE
from common.store.chunk_store import ChunkStore
from common.store.votes import VoteStore
from tests.support.chroma_server import ChromaServer
from tests.support.chunks import make_chunk
from tests.support.votes import vote

PROCESSES = 4
VOTES_PER_PROCESS = 50


@pytest.fixture
def settings() -> Settings:
    return load_settings()


@pytest.fixture
def store(settings: Settings) -> ChunkStore:
    store = build_store(settings)
    store.upsert(
        [make_chunk("p1", 0, updated_at=datetime.now(UTC)), make_chunk("p1", 1), make_chunk("p2", 0)]
    )
    return store


@pytest.fixture
def writer(settings: Settings, store: ChunkStore) -> QualityWriter:
    return build_quality_writer(settings, store)


def test_a_helpful_vote_raises_the_score_by_its_points(
    writer: QualityWriter, store: ChunkStore, settings: Settings
) -> None:
    writer.record_votes([vote("p1-0")])

    meta = store.get_metadata(ids=["p1-0"])["p1-0"]
    assert meta.quality_score == NEUTRAL_QUALITY_SCORE + settings.quality_vote_helpful
    assert meta.feedback_count == 1


def test_the_same_vote_twice_counts_once(writer: QualityWriter, store: ChunkStore) -> None:
    writer.record_votes([vote("p1-0")])
    writer.record_votes([vote("p1-0")])

    assert store.get_metadata(ids=["p1-0"])["p1-0"].feedback_count == 1


def test_changing_a_vote_replaces_it(writer: QualityWriter, store: ChunkStore, settings: Settings) -> None:
    writer.record_votes([vote("p1-0", kind="helpful")])
    writer.record_votes([vote("p1-0", kind="incorrect")])

    meta = store.get_metadata(ids=["p1-0"])["p1-0"]
    assert meta.quality_score == NEUTRAL_QUALITY_SCORE - settings.quality_vote_incorrect
    assert meta.feedback_count == 1


def test_the_same_user_on_another_answer_votes_again(writer: QualityWriter, store: ChunkStore) -> None:
    writer.record_votes([vote("p1-0", answer="A1"), vote("p1-0", answer="A2")])

    assert store.get_metadata(ids=["p1-0"])["p1-0"].feedback_count == 2


def test_a_vote_on_a_deleted_chunk_is_kept_but_changes_nothing(
    writer: QualityWriter, store: ChunkStore
) -> None:
    store.delete(["p2-0"])

    changes = writer.record_votes([vote("p2-0", page_id="p2")])

    assert changes == {}
    assert len(VoteStore(store).for_chunks(["p2-0"])["p2-0"]) == 1


def test_resolving_outdated_votes_restores_the_score(writer: QualityWriter, store: ChunkStore) -> None:
    writer.record_votes([vote("p1-0", kind="outdated"), vote("p1-0", user="U2", kind="outdated")])

    writer.resolve_outdated(["p1-0"])

    meta = store.get_metadata(ids=["p1-0"])["p1-0"]
    assert meta.quality_score == NEUTRAL_QUALITY_SCORE
    assert meta.feedback_count == 2


def test_marking_a_page_reviewed_stamps_every_chunk_and_restores_its_score(
    settings: Settings, store: ChunkStore
) -> None:
    long_after = datetime.now(UTC) + timedelta(days=400)
    late = QualityWriter(
        store=store,
        votes=VoteStore(store),
        policy=build_quality_writer(settings, store).policy,
        clock=lambda: long_after,
    )
    late.record_votes([vote("p1-1", page_id="p1")])
    decayed = store.get_metadata(ids=["p1-1"])["p1-1"].quality_score

    late.mark_reviewed("p1", reviewer="priya.raman@larkspur.example")

    metas = store.get_metadata(where={"page_id": "p1"})
    assert {m.reviewed_by for m in metas.values()} == {"priya.raman@larkspur.example"}
    assert decayed < metas["p1-1"].quality_score == NEUTRAL_QUALITY_SCORE + settings.quality_vote_helpful


def _cast_votes(chroma_url: str, collection: str, process: int) -> None:
    """One process's share: 50 distinct users voting on one chunk, four threads at a time."""
    settings = load_settings(chroma_url=chroma_url, chroma_collection=collection, quality_vote_helpful=0.2)
    writer = build_quality_writer(settings, build_store(settings))
    users = [f"U{process}-{n}" for n in range(VOTES_PER_PROCESS)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda user: writer.record_votes([vote("p1-0", user=user)]), users))


def test_concurrent_votes_from_several_processes_all_count(chroma_server: ChromaServer) -> None:
    collection = f"votes-{uuid.uuid4().hex[:8]}"
    settings = load_settings(chroma_url=chroma_server.url, chroma_collection=collection)
    build_store(settings).upsert([make_chunk("p1", 0, updated_at=datetime.now(UTC))])

    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_cast_votes, args=(chroma_server.url, collection, n)) for n in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES

    meta = build_store(settings).get_metadata(ids=["p1-0"])["p1-0"]
    total = PROCESSES * VOTES_PER_PROCESS
    assert meta.feedback_count == total
    assert meta.feedback_score == pytest.approx(NEUTRAL_QUALITY_SCORE + total * 0.2)
