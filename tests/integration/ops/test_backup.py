"""Backups against real components: embedded Chroma, a `chroma run` server, a folder and fake-gcs-server."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pytest
from click.testing import CliRunner

from common.cli.main import main
from common.config import get_settings, load_settings
from common.errors import BackupError
from common.ops.backup import Manifest, backup, list_backups, restore
from common.ops.backup_files import FolderBackup
from common.runtime.ops import build_backup_target
from common.runtime.store import build_store
from common.store.chunk import METADATA_SCHEMA_VERSION, Chunk
from common.store.chunk_store import ChunkStore, StoredChunk
from common.store.companions import COMPANIONS, CompanionRecords
from common.store.notices import Digest, NoticeItem, NoticeStore
from common.store.sync_state import SyncCursors
from common.store.votes import VoteStore
from jobs import backup as backup_job
from tests.support.chroma_server import ChromaServer
from tests.support.chunks import DIMENSION, make_chunk
from tests.support.votes import vote

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def embedded(collection: str) -> ChunkStore:
    return build_store(load_settings(), collection_name=collection)


def varied_chunks(count: int) -> list[Chunk]:
    """Chunks whose metadata uses every kind of value Chroma stores: learned scores, optional fields set
    and unset, JSON lists, non-ASCII text."""
    return [
        make_chunk(
            f"p{i // 3}",
            i % 3,
            quality_score=12.345678901234 + i,
            feedback_score=61.5,
            access_count=i * 7,
            feedback_count=i,
            reviewed_by="ana.ruiz@larkspur.example" if i % 2 else None,
            reviewed_at=datetime(2026, 5, 1, 9, 30, tzinfo=UTC) if i % 2 else None,
            classification="confidential",
            labels=("vpn", "ñandú — “quoted”"),
            audience=("engineers", "new-hires"),
            summary=f"Résumé {i}: don't 'quote' me",
            ingested_at=1_700_000_000.123456 + i,
        )
        for i in range(count)
    ]


def everything(store: ChunkStore) -> dict[str, StoredChunk]:
    return {chunk.id: chunk for chunk in store.get_chunks(where=None, with_embeddings=True)}


def assert_same_chunks(restored: ChunkStore, source: ChunkStore) -> None:
    """Ids, documents and metadata must be equal; embeddings equal up to what Chroma's own write does.

    A cosine collection does not give back exactly the float32 vector it was given: some components come
    back one unit in the last place off (it normalises on write), and writing them again can move them
    again. So the backup holds exactly what Chroma returned (`test_backup_files_hold_the_stored_embeddings_
    bit_for_bit`), restore writes exactly that, and the restored store can differ only by Chroma's rounding.
    """
    got, want = everything(restored), everything(source)
    assert set(got) == set(want)
    for chunk_id, chunk in want.items():
        assert (got[chunk_id].text, got[chunk_id].metadata) == (chunk.text, chunk.metadata)
        np.testing.assert_array_max_ulp(
            np.asarray(got[chunk_id].embedding, dtype=np.float32),
            np.asarray(chunk.embedding, dtype=np.float32),
            maxulp=2,
        )


@pytest.fixture
def source() -> ChunkStore:
    store = embedded("source")
    store.upsert(varied_chunks(30))
    return store


@pytest.fixture
def target(tmp_path: Path) -> FolderBackup:
    return FolderBackup(tmp_path / "backups")


def test_folder_round_trip_restores_every_id_document_embedding_and_metadata_exactly(
    source: ChunkStore, target: FolderBackup
) -> None:
    backup(source, target, model_id=MODEL)
    restored = embedded("restored")

    summary = restore(target, restored, model_id=MODEL)

    assert summary.chunks == 30
    assert_same_chunks(restored, source)


def test_a_restore_in_parallel_batches_under_the_servers_limit_restores_everything_exactly(
    source: ChunkStore, target: FolderBackup
) -> None:
    backup(source, target, model_id=MODEL)
    settings = get_settings()
    restored = build_store(settings, collection_name="restored-in-batches", max_batch_size=4)

    restore(target, restored, model_id=MODEL, workers=3)

    assert_same_chunks(restored, source)


def test_backup_files_hold_the_stored_embeddings_bit_for_bit(
    source: ChunkStore, target: FolderBackup
) -> None:
    manifest = backup(source, target, model_id=MODEL)
    part = Path(target.location) / manifest.name / "chunks-00001.parquet"

    with duckdb.connect() as db:
        rows = db.execute(f"SELECT id, document, embedding FROM read_parquet('{part}')").fetchall()

    stored = everything(source)
    assert {r[0]: (r[1], tuple(r[2])) for r in rows} == {c.id: (c.text, c.embedding) for c in stored.values()}


def test_manifest_records_model_dimension_schema_counts_and_timing(
    source: ChunkStore, target: FolderBackup
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    manifest = backup(source, target, model_id=MODEL)

    assert (manifest.collection, manifest.chunk_count) == ("source", 30)
    assert manifest.companion_counts == {companion.name: 0 for companion in COMPANIONS}
    assert (manifest.embedding_model_id, manifest.embedding_dimension) == (MODEL, DIMENSION)
    assert manifest.metadata_schema_version == METADATA_SCHEMA_VERSION
    assert (
        before <= datetime.fromisoformat(manifest.started_at) <= datetime.fromisoformat(manifest.finished_at)
    )
    assert [(f.name, f.rows) for f in manifest.files] == [("chunks-00001.parquet", 30)]
    assert list_backups(target) == [manifest]


@pytest.mark.server
def test_server_round_trip_through_a_gcs_bucket(chroma_server: ChromaServer, gcs_bucket: str) -> None:
    settings = load_settings(chroma_url=chroma_server.url)
    suffix = uuid.uuid4().hex[:10]
    source = build_store(settings, collection_name=f"src-{suffix}")
    source.upsert(varied_chunks(40))
    location = f"gs://{gcs_bucket}/kb/backups"

    manifest = backup(source, build_backup_target(settings, location), model_id=MODEL, page_size=16)
    restored = build_store(settings, collection_name=f"dst-{suffix}")
    restore(build_backup_target(settings, location), restored, model_id=MODEL)

    assert_same_chunks(restored, source)
    assert [m.name for m in list_backups(build_backup_target(settings, location))] == [manifest.name]


def test_votes_round_trip_into_the_companion_collection(source: ChunkStore, target: FolderBackup) -> None:
    votes = [
        vote("p0-0", page_id="p0"),
        vote("p0-1", page_id="p0", user="U2", kind="outdated", comment="Out of date since März"),
        vote("p1-0", page_id="p1", user="U3", kind="not_helpful", answer="A2"),
    ]
    VoteStore(source).put(votes)
    manifest = backup(source, target, model_id=MODEL)
    restored = embedded("restored")

    summary = restore(target, restored, model_id=MODEL)

    assert manifest.companion_counts["votes"] == summary.companions["votes"] == 3
    ids = ["p0-0", "p0-1", "p1-0"]
    assert VoteStore(restored).for_chunks(ids) == VoteStore(source).for_chunks(ids)


def test_every_companion_collection_comes_back_from_a_restore(
    source: ChunkStore, target: FolderBackup
) -> None:
    VoteStore(source).put([vote("p0-0", page_id="p0")])
    SyncCursors(source).set("HB", "2026-11-25T10:00:00+00:00")
    day = datetime(2026, 11, 25, tzinfo=UTC).date()
    digest = Digest(
        owner="priya@larkspur.example", page_id="p0", day=day, channel="D1", ts="1.2", user_id="UP"
    )
    NoticeStore(source).save_posted(digest)
    item = NoticeItem(kind="outdated", question="VPN?", comment="", at=datetime(2026, 11, 25, 9, tzinfo=UTC))
    NoticeStore(source).add_item(digest, item)
    backup(source, target, model_id=MODEL, page_size=1)
    restored = embedded("restored")

    summary = restore(target, restored, model_id=MODEL)

    assert summary.companions == {"votes": 1, "sync-state": 1, "notices": 2}
    for companion in COMPANIONS:
        records = CompanionRecords(restored, companion)
        assert [dict(page) for page in records.pages(100)] == [
            dict(page) for page in CompanionRecords(source, companion).pages(100)
        ]
    assert SyncCursors(restored).get("HB") == "2026-11-25T10:00:00+00:00"
    assert NoticeStore(restored).digest(owner=digest.owner, page_id="p0", day=day) == digest
    assert NoticeStore(restored).items(digest) == [item]


def test_a_backup_holding_records_of_an_unknown_companion_is_refused_before_writing(
    source: ChunkStore, target: FolderBackup
) -> None:
    manifest = backup(source, target, model_id=MODEL)
    path = Path(target.location) / manifest.name / "manifest.json"
    raw = json.loads(path.read_bytes())
    raw["files"].append({"name": "chunks-00001.parquet", "kind": "mystery", "rows": 0, "sha256": "x"})
    path.write_text(json.dumps(raw))
    restored = embedded("restored")

    with pytest.raises(BackupError, match="'mystery'"):
        restore(target, restored, model_id=MODEL)
    assert restored.count() == 0


def test_restore_into_a_non_empty_collection_is_refused_unless_forced(
    source: ChunkStore, target: FolderBackup
) -> None:
    backup(source, target, model_id=MODEL)
    restored = embedded("restored")
    restored.upsert([make_chunk("other", 0)])

    with pytest.raises(BackupError, match="already holds 1 chunks"):
        restore(target, restored, model_id=MODEL)
    assert restored.count() == 1

    restore(target, restored, model_id=MODEL, force=True)
    assert restored.count() == 31


def test_a_corrupted_part_fails_its_checksum_before_anything_is_written(
    source: ChunkStore, target: FolderBackup
) -> None:
    manifest = backup(source, target, model_id=MODEL)
    part = Path(target.location) / manifest.name / "chunks-00001.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    restored = embedded("restored")

    with pytest.raises(BackupError, match=r"chunks-00001\.parquet has SHA-256 .* manifest recorded"):
        restore(target, restored, model_id=MODEL)
    assert restored.count() == 0


def test_a_backup_of_another_embedding_model_is_refused_naming_both(
    source: ChunkStore, target: FolderBackup
) -> None:
    backup(source, target, model_id="intfloat/e5-small-v2")
    restored = embedded("restored")

    with pytest.raises(BackupError) as raised:
        restore(target, restored, model_id=MODEL)

    assert "intfloat/e5-small-v2" in str(raised.value) and MODEL in str(raised.value)
    assert restored.count() == 0


def test_paging_splits_a_store_larger_than_one_page_into_parts(target: FolderBackup) -> None:
    store = embedded("large")
    chunks = [make_chunk(f"p{i // 10}", i % 10) for i in range(2500)]
    store.upsert(chunks)
    seen: list[int] = []

    started = time.perf_counter()
    manifest = backup(store, target, model_id=MODEL, page_size=1000, progress=seen.append)
    took = time.perf_counter() - started
    restored = embedded("restored")
    restore(target, restored, model_id=MODEL)

    print(f"backed up 2,500 chunks in {took:.2f}s")
    assert [f.rows for f in manifest.files if f.kind == "chunks"] == [1000, 1000, 500]
    assert seen == [1000, 2000, 2500]
    assert restored.count() == 2500
    assert set(everything(restored)) == {c.id for c in chunks}


def test_a_manifest_of_an_unknown_format_is_refused(source: ChunkStore, target: FolderBackup) -> None:
    manifest = backup(source, target, model_id=MODEL)
    path = Path(target.location) / manifest.name / "manifest.json"
    path.write_bytes(path.read_bytes().replace(b'"format_version": 2', b'"format_version": 99'))

    with pytest.raises(BackupError, match="format 99"):
        restore(target, embedded("restored"), model_id=MODEL)


def test_manifest_json_round_trips(source: ChunkStore, target: FolderBackup) -> None:
    manifest = backup(source, target, model_id=MODEL)

    assert Manifest.from_json(manifest.to_json(), where="test") == manifest


def test_kb_backup_and_kb_restore_round_trip_through_the_command_line(kb_home: Path, tmp_path: Path) -> None:
    store = build_store(load_settings())
    store.upsert([make_chunk("p1", n) for n in range(3)])

    made = CliRunner().invoke(main, ["backup", "--to", str(tmp_path / "backups"), "--json"])
    listed = CliRunner().invoke(main, ["backup", "--to", str(tmp_path / "backups"), "--list", "--json"])
    restored = CliRunner().invoke(main, ["restore", str(tmp_path / "backups"), "--collection", "restored_kb"])

    assert (made.exit_code, listed.exit_code, restored.exit_code) == (0, 0, 0), restored.output
    assert len(json.loads(listed.stdout)) == 1
    assert build_store(load_settings(), collection_name="restored_kb").count() == 3


def test_the_backup_job_writes_a_daily_or_weekly_backup_under_the_configured_location(
    kb_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKUP_LOCATION", str(tmp_path / "backups"))
    get_settings.cache_clear()
    build_store(load_settings()).upsert([make_chunk("p1", 0)])

    assert backup_job.main() == 0

    [cadence] = [p.name for p in (tmp_path / "backups").iterdir()]
    assert cadence in {"daily", "weekly"}
    target = build_backup_target(load_settings(), str(tmp_path / "backups" / cadence))
    assert list_backups(target)[0].chunk_count == 1
