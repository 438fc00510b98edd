"""Showing a result counts an access in Chroma and emits an access event, off the response path."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from common.config import load_settings
from common.events.publishers import SpoolPublisher
from common.runtime.store import build_store
from common.search.access_tracking import AccessRecorder
from common.search.ranking import ScoreParts
from common.search.retriever import SearchResult
from common.store.chunk_store import ChunkStore
from tests.support.chroma_server import ChromaServer, free_port
from tests.support.chunks import make_chunk

PARTS = ScoreParts(0.5, 1.0, 0.5, 1.0, 0.0, 0.0, 0.5)


def _result(chunk_id: str, page_id: str = "p1") -> SearchResult:
    return SearchResult(
        chunk_id=chunk_id,
        chunk_ids=(chunk_id,),
        text="t",
        page_id=page_id,
        page_title="T",
        url="u",
        space_key="HB",
        parent_headers=(),
        chunk_type="text",
        owner="o",
        updated_at=datetime.now(UTC).isoformat(),
        reviewed_at=None,
        verified=False,
        classification="internal",
        restricted=False,
        quality_score=50.0,
        scores=PARTS,
    )


def _recorder(store: ChunkStore, home: Path) -> AccessRecorder:
    return AccessRecorder(
        store=store, publisher=SpoolPublisher(home / "spool"), lock_file=home / "access.lock"
    )


def test_every_showing_is_counted_once_flushed(kb_home: Path) -> None:
    store = build_store(load_settings())
    store.upsert([make_chunk("p1", 0), make_chunk("p1", 1)])
    recorder = _recorder(store, kb_home)

    recorder.record([_result("p1-0"), _result("p1-1")], source="test")
    recorder.record([_result("p1-0")], source="test")
    recorder.flush()

    counts = {cid: m.access_count for cid, m in store.get_metadata(ids=["p1-0", "p1-1"]).items()}
    assert counts == {"p1-0": 2, "p1-1": 1}


def test_concurrent_searches_lose_no_increment(kb_home: Path) -> None:
    store = build_store(load_settings())
    store.upsert([make_chunk("p1", 0)])
    recorder = _recorder(store, kb_home)

    def show() -> None:
        recorder.record([_result("p1-0")], source="test")
        recorder.flush()

    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(200):
            pool.submit(show)
    recorder.flush()

    assert store.get_metadata(ids=["p1-0"])["p1-0"].access_count == 200


def test_each_showing_is_spooled_as_an_access_event(kb_home: Path) -> None:
    store = build_store(load_settings())
    recorder = _recorder(store, kb_home)

    query_id = recorder.record([_result("p1-0"), _result("p2-0", page_id="p2")], source="search_api")

    [spool] = (kb_home / "spool").glob("events-*.jsonl")
    events = [json.loads(line) for line in spool.read_text().splitlines()]
    assert [(e["kind"], e["chunk_id"], e["rank"], e["query_id"]) for e in events] == [
        ("chunk_access", "p1-0", 1, query_id),
        ("chunk_access", "p2-0", 2, query_id),
    ]
    assert len({e["event_id"] for e in events}) == 2


def test_counts_survive_a_store_outage_until_the_next_flush(kb_home: Path, tmp_path: Path) -> None:
    server = ChromaServer(tmp_path / "chroma").start()
    store = build_store(load_settings(chroma_url=server.url, chroma_retries=0, chroma_breaker_failures=50))
    store.upsert([make_chunk("p1", 0)])
    recorder = _recorder(store, kb_home)
    recorder.record([_result("p1-0")], source="test")
    server.stop()

    assert recorder.flush() == 0

    server.start()
    try:
        assert recorder.flush() == 1
        assert store.get_metadata(ids=["p1-0"])["p1-0"].access_count == 1
    finally:
        server.stop()


def test_unreachable_store_does_not_fail_recording(kb_home: Path) -> None:
    store = build_store(load_settings(chroma_url=f"http://127.0.0.1:{free_port()}", chroma_retries=0))
    recorder = _recorder(store, kb_home)

    recorder.record([_result("p1-0")], source="test")

    assert recorder.flush() == 0
