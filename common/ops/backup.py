"""Backups of the chunk store: Chroma is the only copy of every chunk and of the votes its quality came from.

Re-syncing Confluence would bring back text, but not the quality scores, reviews and access counts learned
over months, nor the votes they were computed from, and it would cost a full re-embed. So a backup keeps
everything Chroma holds, exactly: ids, documents, embeddings as stored (float32, never recomputed on
restore) and each metadata record as Chroma stores it, plus every companion collection named in
`common.store.companions` (votes, sync cursors, owner notices, and any added there later).

Files are Parquet (written by DuckDB), a part per page of chunks, so memory stays flat at any store size;
`manifest.json` is written last with every file's SHA-256 and row count, and a restore verifies them all
before it writes anything.

Consistency: there is no snapshot in Chroma. Each chunk is read whole (document, embedding and metadata in
one `get`), so every backed-up chunk is one that existed; but a backup taken during writes is consistent
per chunk, not across chunks: chunks written while it runs may or may not be in it. The manifest records
when the backup started and finished, so a restore can be followed by a sync of what changed since then.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from common.errors import BackupError
from common.ops.backup_files import (
    MANIFEST_FILE,
    NAME_FORMAT,
    BackupTarget,
    read_part_rows,
    sha256_of,
    write_chunk_part,
    write_record_part,
)
from common.store.chunk import METADATA_SCHEMA_VERSION
from common.store.chunk_store import ChunkStore
from common.store.companions import COMPANIONS, Companion, CompanionRecords

FORMAT_VERSION = 2
"""2: every companion collection is backed up, counted in `companion_counts`."""
RESTORE_WORKERS = 4
"""Writes in flight during a restore, so the next batches are read and sent while the server indexes. One
single-node server applies writes one at a time (bench/backup.py: one core busy, as fast as one worker); a
distributed Chroma takes them in parallel (docs/scale.md)."""
Progress = Callable[[int], None]
_Row = tuple[str, str | None, dict[str, Any], Any]


@dataclass(frozen=True, slots=True)
class BackupFile:
    name: str
    kind: str
    """`chunks`, or the name of a companion collection (`votes`, `sync-state`, `notices`, ...)."""
    rows: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    format_version: int
    name: str
    collection: str
    chunk_count: int
    companion_counts: dict[str, int]
    embedding_model_id: str
    embedding_dimension: int | None
    """None only for an empty store, which has no vectors to say it."""
    metadata_schema_version: int
    started_at: str
    finished_at: str
    files: tuple[BackupFile, ...]

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes, *, where: str) -> Manifest:
        try:
            raw = json.loads(data)
            files = tuple(BackupFile(**f) for f in raw.pop("files"))
            manifest = cls(**raw, files=files)
        except (ValueError, TypeError, KeyError) as exc:
            raise BackupError(f"The manifest of {where} is damaged ({exc}); restore another backup.") from exc
        if manifest.format_version != FORMAT_VERSION:
            raise BackupError(
                f"{where} has backup format {manifest.format_version}; this version reads only "
                f"format {FORMAT_VERSION}."
            )
        return manifest


@dataclass(frozen=True, slots=True)
class RestoreSummary:
    name: str
    collection: str
    chunks: int
    companions: dict[str, int]


def backup(
    store: ChunkStore,
    target: BackupTarget,
    *,
    model_id: str,
    page_size: int = 1000,
    progress: Progress | None = None,
) -> Manifest:
    """Copy every chunk and companion record of `store` into a new timestamped backup at `target`.

    `page_size` bounds memory (one page of vectors at a time) and sets the rows per part file; `progress`
    is called after each part with the number of chunks backed up so far, for long runs to report.
    """
    if page_size < 1:
        raise BackupError(f"page_size must be at least 1, not {page_size}.")
    started = datetime.now(UTC)
    name = started.strftime(NAME_FORMAT)
    with target.staging(name) as folder, duckdb.connect() as db:
        files: list[BackupFile] = []
        dimension: int | None = None
        seen: set[str] = set()
        for ids in _id_pages(store, page_size):
            # Offset paging can list an id twice while others are deleted; keep its first copy only.
            rows = [row for row in _read_whole(store, ids) if row[0] not in seen]
            if not rows:
                continue
            seen.update(row[0] for row in rows)
            vectors = np.asarray([row[3] for row in rows], dtype=np.float32)
            if dimension is None:
                dimension = int(vectors.shape[1])
            elif vectors.shape[1] != dimension:
                raise BackupError(
                    f"Collection {store.collection_name!r} mixes {dimension}- and {vectors.shape[1]}-"
                    "dimensional embeddings; re-embed it before backing it up."
                )
            path = folder / f"chunks-{len(files) + 1:05d}.parquet"
            write_chunk_part(db, path, rows, vectors)
            files.append(_described(path, "chunks", len(rows)))
            if progress is not None:
                progress(len(seen))
        for companion in COMPANIONS:
            for part, records in enumerate(CompanionRecords(store, companion).pages(page_size), start=1):
                path = folder / f"{companion.name}-{part:05d}.parquet"
                write_record_part(db, path, records)
                files.append(_described(path, companion.name, len(records)))
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            name=name,
            collection=store.collection_name,
            chunk_count=len(seen),
            companion_counts={c.name: sum(f.rows for f in files if f.kind == c.name) for c in COMPANIONS},
            embedding_model_id=model_id,
            embedding_dimension=dimension,
            metadata_schema_version=METADATA_SCHEMA_VERSION,
            started_at=started.isoformat(),
            finished_at=datetime.now(UTC).isoformat(),
            files=tuple(files),
        )
        (folder / MANIFEST_FILE).write_bytes(manifest.to_json())
        target.publish(name, folder, [f.name for f in files] + [MANIFEST_FILE])
    return manifest


def restore(
    source: BackupTarget,
    store: ChunkStore,
    *,
    model_id: str,
    name: str | None = None,
    force: bool = False,
    workers: int = RESTORE_WORKERS,
) -> RestoreSummary:
    """Write backup `name` (default: the latest) into `store`, with its stored embeddings and companions.

    Checksums, model, formats and an empty target are all checked before the first write, because a
    restore that stops halfway leaves a store that is neither the old one nor the backup. A non-empty store
    is refused unless `force`, since chunks not in the backup would survive next to the restored ones.

    Chunks are written `workers` batches at a time, each as large as the server takes in one write, with at
    most two batches a worker read ahead, so memory stays bounded while the server is kept busy.
    """
    if workers < 1:
        raise BackupError(f"workers must be at least 1, not {workers}.")
    chosen = name or _latest(source)
    where = f"backup {chosen} at {source.location}"
    with source.open(chosen) as folder:
        manifest = Manifest.from_json((folder / MANIFEST_FILE).read_bytes(), where=where)
        if manifest.embedding_model_id != model_id:
            raise BackupError(
                f"{where} was made with embedding model {manifest.embedding_model_id!r}, but this store "
                f"uses {model_id!r}: its vectors would not match new queries. Restore it with "
                f"{manifest.embedding_model_id!r} configured, or re-sync instead."
            )
        if manifest.metadata_schema_version > METADATA_SCHEMA_VERSION:
            raise BackupError(
                f"{where} has chunk metadata schema {manifest.metadata_schema_version}, newer than this "
                f"version's {METADATA_SCHEMA_VERSION}; restore it with the version that made it."
            )
        _verify(folder, manifest, where)
        existing = store.count()
        if existing and not force:
            raise BackupError(
                f"Collection {store.collection_name!r} already holds {existing} chunks; restore into an "
                "empty collection, or pass force to upsert the backup over them."
            )
        batch = store.max_batch_size
        with duckdb.connect() as db, _BoundedWrites(workers) as writes:
            for file in manifest.files:
                if file.kind == "chunks":
                    for rows in read_part_rows(
                        db, folder / file.name, "id, document, embedding, metadata", batch
                    ):
                        records = [(cid, doc, vector, json.loads(meta)) for cid, doc, vector, meta in rows]
                        writes.submit(partial(store.upsert_stored, records))
                else:
                    companion = CompanionRecords(store, _companion(file.kind, where))
                    for rows in read_part_rows(db, folder / file.name, "id, metadata", batch):
                        companion.put({row[0]: json.loads(row[1]) for row in rows})
        restored = store.count()
        if restored < manifest.chunk_count or (not force and restored != manifest.chunk_count):
            raise BackupError(
                f"After restoring {where}, collection {store.collection_name!r} holds {restored} chunks, "
                f"not the {manifest.chunk_count} backed up; check the store and restore again."
            )
    return RestoreSummary(chosen, store.collection_name, manifest.chunk_count, manifest.companion_counts)


class _BoundedWrites:
    """A thread pool that takes no more than two waiting writes per worker, and raises the first failure
    (after the writes already running finish) instead of carrying on past it."""

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="restore")
        self._limit = 2 * workers
        self._pending: set[Future[None]] = set()

    def __enter__(self) -> _BoundedWrites:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._settle(wait(self._pending).done)
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, write: Callable[[], None]) -> None:
        while len(self._pending) >= self._limit:
            self._settle(wait(self._pending, return_when=FIRST_COMPLETED).done)
        self._pending.add(self._pool.submit(write))

    def _settle(self, done: set[Future[None]]) -> None:
        self._pending -= done
        for future in done:
            future.result()


def retention_folder(now: datetime) -> str:
    """Sundays (UTC) go under `weekly`, other days under `daily`, so bucket lifecycle rules can keep dailies
    for two weeks and weeklies for twelve (docs/operations.md)."""
    return "weekly" if now.astimezone(UTC).weekday() == 6 else "daily"


def list_backups(target: BackupTarget) -> list[Manifest]:
    """Finished backups at `target`, oldest first."""
    return [
        Manifest.from_json(target.read_manifest(n), where=f"backup {n} at {target.location}")
        for n in target.names()
    ]


# --- reading the store ------------------------------------------------------------------------------


def _id_pages(store: ChunkStore, page_size: int) -> Iterator[list[str]]:
    """Ids only, so listing 100k chunks costs no vectors."""
    page: list[str] = []
    for chunk_id in store.iter_ids():
        page.append(chunk_id)
        if len(page) == page_size:
            yield page
            page = []
    if page:
        yield page


def _read_whole(store: ChunkStore, ids: Sequence[str]) -> list[_Row]:
    """Raw rows, metadata exactly as Chroma holds it (not re-serialised through the model)."""
    return [row for row in store.get_raw(ids) if row[3] is not None]


# --- files ------------------------------------------------------------------------------------------


def _described(path: Path, kind: str, rows: int) -> BackupFile:
    return BackupFile(name=path.name, kind=kind, rows=rows, sha256=sha256_of(path))


def _companion(kind: str, where: str) -> Companion:
    for companion in COMPANIONS:
        if companion.name == kind:
            return companion
    raise BackupError(
        f"{where} holds records of {kind!r}, which this version does not know; restore it with the version "
        "that made it."
    )


def _verify(folder: Path, manifest: Manifest, where: str) -> None:
    for file in manifest.files:
        if file.kind != "chunks":
            _companion(file.kind, where)
        path = folder / file.name
        if not path.is_file():
            raise BackupError(f"{where} is incomplete: {file.name} is missing.")
        actual = sha256_of(path)
        if actual != file.sha256:
            raise BackupError(
                f"{where} is damaged: {file.name} has SHA-256 {actual}, but the manifest recorded "
                f"{file.sha256}. Nothing was restored; restore another backup."
            )


def _latest(source: BackupTarget) -> str:
    names = source.names()
    if not names:
        raise BackupError(f"There is no finished backup at {source.location}.")
    return names[-1]
