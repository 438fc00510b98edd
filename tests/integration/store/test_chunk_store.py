"""ChunkStore against the two real homes of Chroma: the embedded client and a `chroma run` server."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import chromadb
import chromadb.config
import pytest

from common.config import load_settings
from common.errors import ChunkNotFound, ChunkValidationError, StoreUnavailable
from common.runtime.store import build_store
from common.store.chunk import NEUTRAL_QUALITY_SCORE
from common.store.chunk_store import ChunkStore
from common.store.sync_state import SyncCursors
from tests.support.chroma_server import ChromaServer, free_port
from tests.support.chunks import make_chunk
from tests.support.flaky_proxy import FlakyProxy


@pytest.fixture(params=["embedded", "server"])
def store(request: pytest.FixtureRequest, kb_home: Path) -> ChunkStore:
    if request.param == "embedded":
        return build_store(load_settings())
    server: ChromaServer = request.getfixturevalue("chroma_server")
    collection = f"t{abs(hash(request.node.name)) % 10**10}"
    return build_store(load_settings(chroma_url=server.url), collection_name=collection)


def test_upsert_then_get_metadata_round_trips_every_field(store: ChunkStore) -> None:
    chunk = make_chunk("p1", 0, classification="confidential", doc_type="how-to", summary="How to connect.")
    store.upsert([chunk])

    assert store.get_metadata(ids=[chunk.id]) == {chunk.id: chunk.metadata}


def test_collection_uses_cosine_space(store: ChunkStore) -> None:
    chunk = make_chunk("p1", 0)
    store.upsert([chunk])

    [(found, distance)] = store.query(list(chunk.embedding or ()), n_results=1)

    assert found.id == chunk.id
    assert distance == pytest.approx(0.0, abs=1e-4)


def test_update_metadata_merges_one_field_and_keeps_the_rest(store: ChunkStore) -> None:
    chunk = make_chunk("p1", 0)
    store.upsert([chunk])

    store.update_metadata(chunk.id, {"quality_score": 72.5})

    stored = store.get_metadata(ids=[chunk.id])[chunk.id]
    assert stored.quality_score == 72.5
    assert stored.model_copy(update={"quality_score": chunk.metadata.quality_score}) == chunk.metadata


def test_batch_update_metadata_updates_more_chunks_than_one_batch_holds(kb_home: Path) -> None:
    store = build_store(load_settings(), max_batch_size=300)
    chunks = [make_chunk(f"p{i // 10}", i % 10) for i in range(1200)]
    store.upsert(chunks)

    updated = store.batch_update_metadata({c.id: {"access_count": 3, "quality_score": 61.0} for c in chunks})

    assert updated == 1200
    stored = store.get_metadata(where={"access_count": 3})
    assert len(stored) == 1200
    assert {m.quality_score for m in stored.values()} == {61.0}


def test_batch_update_refuses_unknown_ids_and_writes_nothing(store: ChunkStore) -> None:
    chunk = make_chunk("p1", 0)
    store.upsert([chunk])

    with pytest.raises(ChunkNotFound, match="not-there"):
        store.batch_update_metadata({chunk.id: {"access_count": 9}, "not-there": {"access_count": 9}})

    assert store.get_metadata(ids=[chunk.id])[chunk.id].access_count == 0


def test_update_with_out_of_range_value_is_refused_naming_the_field(store: ChunkStore) -> None:
    chunk = make_chunk("p1", 0)
    store.upsert([chunk])

    with pytest.raises(ChunkValidationError, match="quality_score"):
        store.update_metadata(chunk.id, {"quality_score": 140})

    assert store.get_metadata(ids=[chunk.id])[chunk.id].quality_score == NEUTRAL_QUALITY_SCORE


def test_get_metadata_by_filter_returns_no_documents_or_embeddings(store: ChunkStore) -> None:
    store.upsert([make_chunk("p1", 0), make_chunk("p2", 0, space_key="ENG")])

    found = store.get_metadata(where={"space_key": "ENG"})

    assert list(found) == ["p2-0"]


def test_delete_page_removes_only_that_pages_chunks(store: ChunkStore) -> None:
    store.upsert([make_chunk("p1", 0), make_chunk("p1", 1), make_chunk("p2", 0)])

    removed = store.delete_page("p1")

    assert removed == 2
    assert list(store.get_metadata(where={"space_key": "HB"})) == ["p2-0"]


def test_page_states_report_the_lowest_version_of_a_half_written_page(store: ChunkStore) -> None:
    store.upsert([make_chunk("p1", 0, page_version=5), make_chunk("p1", 1, page_version=4)])

    assert store.page_states("HB")["p1"].version == 4


def test_sync_cursor_is_kept_per_space_in_the_collection(store: ChunkStore) -> None:
    SyncCursors(store).set("HB", "2026-11-25T10:00:00+00:00")
    SyncCursors(store).set("ENG", "2026-11-24T10:00:00+00:00")

    assert SyncCursors(store).get("HB") == "2026-11-25T10:00:00+00:00"
    assert SyncCursors(store).get("ENG") == "2026-11-24T10:00:00+00:00"
    assert SyncCursors(store).get("OPS") is None


def test_unreachable_server_raises_store_unavailable_naming_chroma_url(kb_home: Path) -> None:
    settings = load_settings(chroma_url=f"http://127.0.0.1:{free_port()}", chroma_retries=1)
    store = build_store(settings)

    with pytest.raises(StoreUnavailable, match="CHROMA_URL"):
        store.count()


def test_server_that_never_answers_times_out_as_unavailable(kb_home: Path) -> None:
    with _silent_server() as port:
        settings = load_settings(
            chroma_url=f"http://127.0.0.1:{port}", chroma_timeout_seconds=0.5, chroma_retries=0
        )
        store = build_store(settings)

        with pytest.raises(StoreUnavailable, match="Timeout"):
            store.count()


def test_breaker_fails_fast_after_repeated_failures_then_recovers(tmp_path: Path) -> None:
    server = ChromaServer(tmp_path / "data")
    settings = load_settings(
        chroma_url=server.url, chroma_retries=0, chroma_breaker_failures=2, chroma_breaker_reset_seconds=0.2
    )
    store = build_store(settings)
    for _ in range(2):
        with pytest.raises(StoreUnavailable, match="Could not reach"):
            store.count()

    with pytest.raises(StoreUnavailable, match="circuit breaker open"):
        store.count()

    server.start()
    try:
        assert _eventually(store.count) == 0
    finally:
        server.stop()


def test_an_html_error_page_from_a_proxy_counts_as_unavailable(
    chroma_server: ChromaServer, kb_home: Path
) -> None:
    with FlakyProxy(chroma_server.url) as proxy:
        store = build_store(
            load_settings(chroma_url=proxy.url, chroma_retries=0), collection_name="behind_proxy"
        )
        store.upsert([make_chunk("p1", 0)])
        proxy.broken = True

        with pytest.raises(StoreUnavailable, match="CHROMA_URL"):
            store.count()

        proxy.broken = False
        assert store.count() == 1


def test_a_tenant_and_database_of_their_own_keep_a_collection_apart_from_the_default(
    chroma_server: ChromaServer, kb_home: Path
) -> None:
    tenant, database = f"t{uuid.uuid4().hex[:8]}", "knowledge"
    admin = chromadb.AdminClient(
        chromadb.config.Settings(
            chroma_server_host="127.0.0.1",
            chroma_server_http_port=chroma_server.port,
            chroma_api_impl="chromadb.api.fastapi.FastAPI",
        )
    )
    admin.create_tenant(tenant)
    admin.create_database(database, tenant=tenant)

    own = build_store(
        load_settings(chroma_url=chroma_server.url, chroma_tenant=tenant, chroma_database=database),
        collection_name="apart",
    )
    own.upsert([make_chunk("p1", 0)])

    default = build_store(load_settings(chroma_url=chroma_server.url), collection_name="apart")
    assert (own.count(), default.count()) == (1, 0)


def test_a_chroma_cloud_api_key_goes_in_the_x_chroma_token_header(
    chroma_server: ChromaServer, kb_home: Path
) -> None:
    with FlakyProxy(chroma_server.url) as proxy:
        store = build_store(
            load_settings(chroma_url=proxy.url, chroma_api_key="ck-test-key"), collection_name="keyed"
        )
        store.upsert([make_chunk("p1", 0)])

        assert store.count() == 1
        assert proxy.headers_seen and all(
            h.get("x-chroma-token") == "ck-test-key" for h in proxy.headers_seen
        )


def test_store_recovers_after_the_server_restarts(tmp_path: Path) -> None:
    server = ChromaServer(tmp_path / "data").start()
    store = build_store(load_settings(chroma_url=server.url, chroma_retries=0))
    store.upsert([make_chunk("p1", 0)])
    server.stop()
    with pytest.raises(StoreUnavailable):
        store.count()

    server.start()
    try:
        assert store.count() == 1
    finally:
        server.stop()


def _eventually(call: Callable[[], int], timeout: float = 10.0) -> int:
    """Call until the store answers: the breaker lets a trial through only after its pause."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except StoreUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class _Silent(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)


@contextmanager
def _silent_server() -> Iterator[int]:
    """Accepts connections and never answers: the shape of a hung server."""
    thread = _Silent()
    thread.start()
    try:
        yield thread.port
    finally:
        thread.sock.close()
        for conn in thread.accepted:
            conn.close()
