"""A search instance keeps the candidates it read and asks Chroma only which were written since: every write
through the store is seen by the next read, in this instance or any other, and nothing deleted comes back.

Against a real `chroma run` server, with two stores on it standing in for two instances.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

import chromadb
import numpy as np
import pytest
from chromadb.api.models.Collection import Collection

from common.config import load_settings
from common.errors import StoreUnavailable
from common.runtime.store import build_store
from common.search.chunk_cache import CHANGE_MARGIN_SECONDS, CachedChunkReader
from common.store.chunk import Chunk, to_chroma_metadata
from common.store.chunk_store import ChunkStore
from tests.support.chroma_server import ChromaServer
from tests.support.chunks import make_chunk
from tests.support.flaky_proxy import FlakyProxy


@pytest.fixture
def collection(request: pytest.FixtureRequest) -> str:
    return f"cache{abs(hash(request.node.name)) % 10**10}"


@pytest.fixture
def stores(chroma_server: ChromaServer, collection: str) -> tuple[ChunkStore, ChunkStore]:
    """Two clients of one collection: the searching instance's and another's."""
    settings = load_settings(chroma_url=chroma_server.url)
    return build_store(settings, collection_name=collection), build_store(
        settings, collection_name=collection
    )


@pytest.fixture
def raw(chroma_server: ChromaServer, collection: str, stores: tuple[ChunkStore, ChunkStore]) -> Collection:
    """The collection behind the stores' back: its writes carry no `changed_at`, as those of a version
    without it did. Chunks written this way are as old as can be, so only a kept cache misses a change."""
    stores[0].count()
    return chromadb.HttpClient(host="127.0.0.1", port=chroma_server.port).get_collection(collection)


def _add_unstamped(raw: Collection, chunks: list[Chunk]) -> None:
    raw.add(
        ids=[c.id for c in chunks],
        documents=[c.text for c in chunks],
        embeddings=np.asarray([c.embedding for c in chunks], dtype=np.float32),
        metadatas=[to_chroma_metadata(c.metadata) for c in chunks],
    )


def _set_quality_unstamped(raw: Collection, chunk_id: str, quality: float) -> None:
    raw.update(ids=[chunk_id], metadatas=[{"quality_score": quality}])


def _reader(
    store: ChunkStore, *, clock: Callable[[], float] = time.time, capacity: int = 100
) -> CachedChunkReader:
    return CachedChunkReader(store, capacity=capacity, max_age_seconds=120, clock=clock)


def _quality(reader: CachedChunkReader, chunk_id: str) -> float:
    return reader.read([chunk_id], known_to_exist=())[chunk_id].metadata.quality_score


def test_a_chunk_read_again_unchanged_comes_from_the_cache(
    stores: tuple[ChunkStore, ChunkStore], raw: Collection
) -> None:
    mine, _ = stores
    chunk = make_chunk("p1", 0)
    _add_unstamped(raw, [chunk])
    reader = _reader(mine)
    assert _quality(reader, chunk.id) == 50.0

    _set_quality_unstamped(raw, chunk.id, 90.0)

    assert _quality(reader, chunk.id) == 50.0


def test_a_vote_written_by_another_instance_is_seen_by_the_next_read(
    stores: tuple[ChunkStore, ChunkStore], raw: Collection
) -> None:
    mine, theirs = stores
    chunk = make_chunk("p1", 0)
    _add_unstamped(raw, [chunk])
    reader = _reader(mine)
    _quality(reader, chunk.id)

    theirs.update_metadata(chunk.id, {"quality_score": 80.0})

    assert _quality(reader, chunk.id) == 80.0


def test_a_re_synced_chunk_is_read_with_its_new_text(
    stores: tuple[ChunkStore, ChunkStore], raw: Collection
) -> None:
    mine, theirs = stores
    chunk = make_chunk("p1", 0)
    _add_unstamped(raw, [chunk])
    reader = _reader(mine)
    reader.read([chunk.id], known_to_exist=())

    theirs.upsert([replace(chunk, text="The portal moved to vpn2.example.com.")])

    assert "vpn2" in reader.read([chunk.id], known_to_exist=())[chunk.id].text


def test_a_deleted_chunk_is_not_returned_from_the_cache(
    stores: tuple[ChunkStore, ChunkStore], raw: Collection
) -> None:
    mine, theirs = stores
    kept, deleted = make_chunk("p1", 0), make_chunk("p1", 1)
    _add_unstamped(raw, [kept, deleted])
    reader = _reader(mine)
    reader.read([kept.id, deleted.id], known_to_exist=())

    theirs.delete([deleted.id])

    assert set(reader.read([kept.id, deleted.id], known_to_exist=())) == {kept.id}


def test_a_write_is_seen_although_the_readers_clock_runs_ahead_of_the_writers(
    stores: tuple[ChunkStore, ChunkStore], raw: Collection
) -> None:
    mine, theirs = stores
    chunk = make_chunk("p1", 0)
    _add_unstamped(raw, [chunk])
    reader = _reader(mine, clock=lambda: time.time() + CHANGE_MARGIN_SECONDS / 2)
    _quality(reader, chunk.id)

    theirs.update_metadata(chunk.id, {"quality_score": 20.0})

    assert _quality(reader, chunk.id) == 20.0


def test_an_entry_past_its_age_is_read_again_in_full(
    stores: tuple[ChunkStore, ChunkStore], raw: Collection
) -> None:
    mine, _ = stores
    chunk = make_chunk("p1", 0)
    _add_unstamped(raw, [chunk])
    now = [time.time()]
    reader = CachedChunkReader(mine, capacity=100, max_age_seconds=120, clock=lambda: now[0])
    _quality(reader, chunk.id)
    _set_quality_unstamped(raw, chunk.id, 90.0)

    now[0] += 121

    assert _quality(reader, chunk.id) == 90.0


def test_a_kept_chunk_is_not_served_while_chroma_cannot_say_whether_it_changed(
    chroma_server: ChromaServer, collection: str, raw: Collection
) -> None:
    chunk = make_chunk("p1", 0)
    _add_unstamped(raw, [chunk])
    with FlakyProxy(chroma_server.url) as proxy:
        settings = load_settings(chroma_url=proxy.url, chroma_retries=0)
        reader = _reader(build_store(settings, collection_name=collection))
        reader.read([chunk.id], known_to_exist=())
        proxy.broken = True

        with pytest.raises(StoreUnavailable):
            reader.read([chunk.id], known_to_exist=())


def test_the_cache_holds_no_more_than_its_capacity(
    stores: tuple[ChunkStore, ChunkStore], raw: Collection
) -> None:
    mine, _ = stores
    chunks = [make_chunk("p1", n) for n in range(30)]
    _add_unstamped(raw, chunks)
    reader = _reader(mine, capacity=10)

    found = reader.read([c.id for c in chunks], known_to_exist=())

    assert len(found) == 30
    assert len(reader) == 10


def test_concurrent_reads_see_every_write_that_finished_before_they_started(
    stores: tuple[ChunkStore, ChunkStore], raw: Collection
) -> None:
    """8 threads read 20 chunks through one cache while another instance keeps voting on them; after
    each vote returns, the next read started must carry it."""
    mine, theirs = stores
    chunks = [make_chunk("p1", n) for n in range(20)]
    _add_unstamped(raw, chunks)
    ids = [c.id for c in chunks]
    reader = _reader(mine, capacity=15)
    written: dict[str, float] = {}
    lock = threading.Lock()
    stop = threading.Event()
    problems: list[str] = []

    def read_and_check() -> None:
        while not stop.is_set():
            with lock:
                expected = dict(written)
            found = reader.read(ids, known_to_exist=())
            for chunk_id, quality in expected.items():
                seen = found[chunk_id].metadata.quality_score
                if seen < quality:
                    problems.append(f"{chunk_id}: read {seen} after {quality} was written")

    readers = [threading.Thread(target=read_and_check) for _ in range(8)]
    for thread in readers:
        thread.start()
    try:
        for step in range(1, 41):
            chunk_id = ids[step % len(ids)]
            theirs.update_metadata(chunk_id, {"quality_score": float(step)})
            with lock:
                written[chunk_id] = float(step)
    finally:
        stop.set()
        for thread in readers:
            thread.join()

    assert problems == []
    assert {cid: c.metadata.quality_score for cid, c in reader.read(ids, known_to_exist=()).items()} == {
        cid: written.get(cid, 50.0) for cid in ids
    }
