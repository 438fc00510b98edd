"""The keyword index shared through a GCS bucket, as Cloud Run instances (which share no disk) use it."""

from __future__ import annotations

from pathlib import Path

from structlog.testing import capture_logs

from common.config import load_settings
from common.runtime.infra import build_blob_store
from common.runtime.search import build_keyword_artifact, build_keyword_cache
from common.runtime.store import build_store
from common.search.keyword_artifact import BucketArtifact
from common.search.keyword_cache import KeywordIndexCache, build_from_store
from common.store.chunk import Chunk
from common.store.chunk_store import ChunkStore
from tests.support.chunks import make_chunk


def _store_with(*chunks: Chunk) -> ChunkStore:
    store = build_store(load_settings())
    store.upsert(list(chunks))
    return store


def _zanzibar_chunk(ingested_at: float) -> Chunk:
    chunk = make_chunk("p9", ingested_at=ingested_at)
    return Chunk(chunk.id, "The zanzibar printer code is 4417.", chunk.metadata, chunk.embedding)


def test_a_rebuilt_index_goes_to_the_bucket_not_to_local_disk(gcs_bucket: str, kb_home: Path) -> None:
    store = _store_with(make_chunk("p1"), make_chunk("p2"))

    build_keyword_cache(load_settings(), store).rebuild()

    assert build_blob_store(load_settings()).generation("keyword-index/knowledge_base.tar")
    assert not (kb_home / "keyword-index").exists()


def test_a_new_instance_loads_the_index_from_the_bucket(gcs_bucket: str) -> None:
    store = _store_with(make_chunk("p1"), _zanzibar_chunk(1_700_000_000.0))
    build_keyword_cache(load_settings(), store).rebuild()

    with capture_logs() as logs:
        index = build_keyword_cache(load_settings(), store).get()

    assert index.search("zanzibar", k=1)[0].chunk_id == "p9-0"
    assert not [entry for entry in logs if entry["event"] == "keyword_index_building"]


def test_an_instance_reloads_an_index_another_process_uploaded_instead_of_rebuilding(gcs_bucket: str) -> None:
    store = _store_with(make_chunk("p1"))
    settings = load_settings(keyword_refresh_seconds=0)
    searcher = build_keyword_cache(settings, store)
    searcher.get()
    store.upsert([_zanzibar_chunk(1_800_000_000.0)])
    build_keyword_cache(settings, store).rebuild()  # the sync job, elsewhere

    with capture_logs() as logs:
        searcher.get()
        searcher.wait_for_refresh()

    assert [entry["event"] for entry in logs] == ["keyword_index_reloaded"]
    assert searcher.get().search("zanzibar", k=1)[0].chunk_id == "p9-0"


def test_two_rebuilders_racing_never_overwrite_each_other(gcs_bucket: str) -> None:
    store = _store_with(make_chunk("p1"))
    blobs = build_blob_store(load_settings())
    first = BucketArtifact(blobs=blobs, name="keyword-index/race.tar")
    second = BucketArtifact(blobs=blobs, name="keyword-index/race.tar")
    index = build_from_store(store)
    first.save(index)
    second.load()
    first.save(index)
    winner = blobs.generation("keyword-index/race.tar")

    second.save(index)  # still holds the generation before the winner's

    assert blobs.generation("keyword-index/race.tar") == winner
    assert second.changed_since_load()  # so its next refresh loads the winner's


def test_a_damaged_index_in_the_bucket_is_rebuilt_from_chroma(gcs_bucket: str, tmp_path: Path) -> None:
    store = _store_with(make_chunk("p1"), _zanzibar_chunk(1_700_000_000.0))
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar file")
    build_blob_store(load_settings()).upload("keyword-index/knowledge_base.tar", junk, replaces=None)

    cache = KeywordIndexCache(
        store=store, artifact=build_keyword_artifact(load_settings(), "knowledge_base"), refresh_seconds=60
    )

    assert cache.get().search("zanzibar", k=1)[0].chunk_id == "p9-0"


def test_the_folder_artifact_is_reloaded_when_another_process_rebuilds_it() -> None:
    store = _store_with(make_chunk("p1"))
    settings = load_settings(keyword_refresh_seconds=0)
    searcher = build_keyword_cache(settings, store)
    searcher.get()
    store.upsert([_zanzibar_chunk(1_800_000_000.0)])
    build_keyword_cache(settings, store).rebuild()

    with capture_logs() as logs:
        searcher.get()
        searcher.wait_for_refresh()

    assert [entry["event"] for entry in logs] == ["keyword_index_reloaded"]
