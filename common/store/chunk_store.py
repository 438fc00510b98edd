"""ChromaDB, the source of truth for every chunk: text, embedding and all metadata.

`ChunkStore` is the only code that talks to Chroma. It gives the rest of the product what the plan's phase 1
asks for (single and batch metadata updates, metadata reads without vectors, upsert/delete by page). Every
call goes through `common.store.connection`, so failures surface only as `StoreUnavailable` (retry later)
or `StoreError` (fix the request).

Collections use cosine space and never get an embedding function: Chroma's default one downloads a model at
run time. Embeddings are always computed by `common.ai.embeddings` and passed in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import numpy as np
from chromadb.api.models.Collection import Collection

from common.errors import ChunkNotFound, StoreError
from common.store.access import ReadRule
from common.store.chunk import (
    CHANGED_AT,
    TALLY_FIELDS,
    ChromaMetadata,
    Chunk,
    ChunkMetadata,
    from_chroma_metadata,
    to_chroma_metadata,
    validate_fields,
)
from common.store.companions import Companion
from common.store.connection import ChromaConnection

T = TypeVar("T")

READ_PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class StoredPage:
    version: int
    read_rules: tuple[ReadRule, ...] | None
    """None when its chunks disagree."""
    chunk_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoredChunk:
    id: str
    text: str
    metadata: ChunkMetadata
    embedding: tuple[float, ...] | None


class ChunkStore:
    """One Chroma collection of chunks, reached through a client made by `connect` on first use."""

    def __init__(
        self, *, connection: ChromaConnection, collection_name: str, max_batch_size: int | None = None
    ) -> None:
        self._conn = connection
        self._collection_name = collection_name
        self._batch_cap = max_batch_size
        self._max_batch: int | None = None

    @property
    def collection_name(self) -> str:
        return self._collection_name

    # --- writes -------------------------------------------------------------------------------------

    def upsert(self, chunks: Sequence[Chunk]) -> None:
        """Insert or replace whole chunks. Every chunk must carry its embedding."""
        for chunk in chunks:
            if chunk.embedding is None:
                raise StoreError(
                    f"Chunk {chunk.id!r} has no embedding; upsert needs one (use update_chunks)."
                )
        for batch in self._batches(chunks):
            self._conn.call(
                "upsert",
                lambda col, b=batch: col.upsert(
                    ids=[c.id for c in b],
                    documents=[c.text for c in b],
                    embeddings=[list(c.embedding or ()) for c in b],
                    metadatas=_stamped([to_chroma_metadata(c.metadata) for c in b]),  # type: ignore[misc]
                ),
            )

    def upsert_stored(self, records: Sequence[tuple[str, str, Sequence[float], ChromaMetadata]]) -> None:
        """Write (id, document, embedding, metadata) records exactly as a Chroma collection held them (a
        restore): they were validated when first written and a backup's checksums vouch for them, so they
        skip the model, which costs more CPU than the write itself at restore sizes."""
        for batch in self._batches(records):
            self._conn.call(
                "upsert",
                lambda col, b=batch: col.upsert(
                    ids=[r[0] for r in b],
                    documents=[r[1] for r in b],
                    embeddings=[list(r[2]) for r in b],
                    metadatas=_stamped([r[3] for r in b]),  # type: ignore[misc]
                ),
            )

    @property
    def max_batch_size(self) -> int:
        """The most records one write may carry (the server's limit, or the cap given here)."""
        return self._max_batch_size()

    def update_chunks(self, chunks: Sequence[Chunk], *, leave: Sequence[str] = ()) -> None:
        """Update existing chunks in place, merging metadata and leaving the `leave` fields as stored.

        Chunks with an embedding get new text and embedding too; chunks without one keep theirs (Chroma
        would re-embed a document sent without an embedding, with the embedding function we never install).
        `leave` exists for fields that other writers change concurrently, such as votes during a sync.
        """
        with_text = [c for c in chunks if c.embedding is not None]
        metadata_only = [c for c in chunks if c.embedding is None]
        for batch in self._batches(with_text):
            self._conn.call(
                "update",
                lambda col, b=batch: col.update(
                    ids=[c.id for c in b],
                    embeddings=np.asarray([c.embedding for c in b], dtype=np.float32),
                    documents=[c.text for c in b],
                    metadatas=_stamped([_without(c, leave) for c in b]),  # type: ignore[misc]
                ),
            )
        for batch in self._batches(metadata_only):
            self._conn.call(
                "update",
                lambda col, b=batch: col.update(
                    ids=[c.id for c in b],
                    metadatas=_stamped([_without(c, leave) for c in b]),  # type: ignore[misc]
                ),
            )

    def update_metadata(self, chunk_id: str, fields: Mapping[str, Any]) -> None:
        """Merge validated `fields` into one chunk's metadata (no embedding needed)."""
        self.batch_update_metadata({chunk_id: fields})

    def batch_update_metadata(
        self, updates: Mapping[str, Mapping[str, Any]], *, skip_missing: bool = False
    ) -> int:
        """Merge fields into many chunks, split at the server's batch limit. Returns chunks updated.

        Every update is validated and every id checked before anything is written, because Chroma itself
        silently ignores updates to ids it does not hold. Background writers (decay, votes) pass
        `skip_missing` because a sync may delete a chunk between their read and their write: then no check
        is made, Chroma's silence is what they want, and the count includes ids that were gone.
        """
        validated = {cid: validate_fields(dict(fields), chunk_id=cid) for cid, fields in updates.items()}
        ids = list(validated)
        existing = set(ids) if skip_missing else self.existing_ids(ids)
        missing = [cid for cid in ids if cid not in existing]
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5])
            raise ChunkNotFound(
                f"{len(missing)} chunk id(s) not in collection {self._collection_name!r}: {shown}"
            )
        for batch in self._batches(ids):
            metadatas = [validated[cid] for cid in batch]
            stamp = any(name not in TALLY_FIELDS for metadata in metadatas for name in metadata)
            self._conn.call(
                "update_metadata",
                lambda col, b=batch, m=metadatas, s=stamp: col.update(  # type: ignore[misc]
                    ids=b, metadatas=_stamped(m) if s else m
                ),
            )
        return len(ids)

    def delete(self, ids: Sequence[str]) -> None:
        for batch in self._batches(ids):
            self._conn.call("delete", partial(_delete, ids=list(batch)))

    def delete_page(self, page_id: str) -> int:
        """Remove every chunk of a page. Returns how many there were."""
        ids = [
            chunk_id for chunk_id, _, _, _ in self._iter_get(ids=None, where={"page_id": page_id}, include=[])
        ]
        self.delete(ids)
        return len(ids)

    # --- reads --------------------------------------------------------------------------------------

    def get_metadata(
        self, *, ids: Sequence[str] | None = None, where: Mapping[str, Any] | None = None
    ) -> dict[str, ChunkMetadata]:
        """Metadata by id or filter, without documents or embeddings (cheap at scale)."""
        return {
            chunk_id: from_chroma_metadata(raw, chunk_id=chunk_id)
            for chunk_id, _, raw, _ in self._iter_get(ids=ids, where=where, include=["metadatas"])
        }

    def get_chunks(
        self,
        *,
        ids: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
        with_embeddings: bool = False,
    ) -> list[StoredChunk]:
        include = ["metadatas", "documents", *(["embeddings"] if with_embeddings else [])]
        return [
            StoredChunk(
                id=chunk_id,
                text=document or "",
                metadata=from_chroma_metadata(raw, chunk_id=chunk_id),
                embedding=tuple(float(v) for v in embedding) if embedding is not None else None,
            )
            for chunk_id, document, raw, embedding in self._iter_get(ids=ids, where=where, include=include)
        ]

    def query(
        self, embedding: Sequence[float], *, n_results: int, where: Mapping[str, Any] | None = None
    ) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks to a query vector with their cosine distance (0 = identical), closest first."""
        result = self._conn.call(
            "query",
            lambda col: col.query(
                query_embeddings=[list(embedding)],  # type: ignore[arg-type]
                n_results=n_results,
                where=dict(where) if where else None,
                include=["metadatas", "documents", "distances"],
            ),
        )
        ids = result["ids"][0]
        documents = (result.get("documents") or [[]])[0]
        metadatas = (result.get("metadatas") or [[]])[0]
        distances = (result.get("distances") or [[]])[0]
        return [
            (
                StoredChunk(
                    id=chunk_id,
                    text=documents[i] or "",
                    metadata=from_chroma_metadata(dict(metadatas[i] or {}), chunk_id=chunk_id),
                    embedding=None,
                ),
                float(distances[i]),
            )
            for i, chunk_id in enumerate(ids)
        ]

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of `ids` are stored, reading nothing else."""
        return {chunk_id for chunk_id, _, _, _ in self._iter_get(ids=ids, where=None, include=[])}

    def get_chunks_changed_since(self, ids: Sequence[str], since: float) -> list[StoredChunk]:
        """Those of `ids` written after `since` (Unix seconds, by the writer's clock), with text and
        metadata; Chroma reads only those, so asking about many unchanged chunks costs little."""
        return self.get_chunks(ids=ids, where={CHANGED_AT: {"$gt": since}})

    def nearest_ids(self, embedding: Sequence[float], *, n_results: int) -> list[tuple[str, float]]:
        """(id, cosine distance) of the nearest chunks, closest first, without reading them: a tenth of
        the cost of `query` to the server (`common.search.chunk_cache` reads the ones it needs)."""
        result = self._conn.call(
            "query",
            lambda col: col.query(
                query_embeddings=[list(embedding)],  # type: ignore[arg-type]
                n_results=n_results,
                include=["distances"],
            ),
        )
        distances = (result.get("distances") or [[]])[0]
        return [(chunk_id, float(distances[i])) for i, chunk_id in enumerate(result["ids"][0])]

    def page_states(self, space_key: str) -> dict[str, StoredPage]:
        """Every stored page of a space: the lowest version among its chunks, and who may read it.

        The lowest version, because a sync interrupted halfway leaves some chunks of a page at the old
        version: reporting the old one makes the next sync finish the page. Chunks of one page that disagree
        on their rules (an access update cut short), or written before access was stored, report None, so
        the next sync writes their access."""
        found: dict[str, StoredPage] = {}
        for chunk_id, _, raw, _ in self._iter_get(
            ids=None, where={"space_key": space_key}, include=["metadatas"]
        ):
            meta = from_chroma_metadata(raw, chunk_id=chunk_id)
            own = meta.read_rules if "restricted" in raw else None
            before = found.get(meta.page_id)
            if before is None:
                found[meta.page_id] = StoredPage(meta.page_version, own, (chunk_id,))
                continue
            rules = before.read_rules if before.read_rules == own else None
            found[meta.page_id] = StoredPage(
                min(before.version, meta.page_version), rules, (*before.chunk_ids, chunk_id)
            )
        return found

    def has_chunks_written_after(self, timestamp: float) -> bool:
        """Whether any chunk was written after `timestamp` (its `ingested_at`): one cheap filtered lookup."""
        result = self._conn.call(
            "get",
            lambda col: col.get(where={"ingested_at": {"$gt": timestamp}}, limit=1, include=[]),  # type: ignore[dict-item]
        )
        return bool(result["ids"])

    def iter_ids(self) -> Iterator[str]:
        """Every chunk id, without documents or vectors (a backup lists 100k ids cheaply)."""
        for chunk_id, _, _, _ in self._iter_get(ids=None, where=None, include=[]):
            yield chunk_id

    def get_raw(self, ids: Sequence[str]) -> list[tuple[str, str | None, dict[str, Any], Any]]:
        """(id, document, metadata exactly as Chroma holds it, embedding) for exact copies (backups),
        without passing metadata through the model."""
        return list(self._iter_get(ids=ids, where=None, include=["documents", "metadatas", "embeddings"]))

    def iter_metadata_pages(self) -> Iterator[dict[str, ChunkMetadata]]:
        """All chunks' metadata, a page of up to READ_PAGE_SIZE at a time, for jobs that sweep everything."""
        page: dict[str, ChunkMetadata] = {}
        for chunk_id, _, raw, _ in self._iter_get(ids=None, where=None, include=["metadatas"]):
            page[chunk_id] = from_chroma_metadata(raw, chunk_id=chunk_id)
            if len(page) == READ_PAGE_SIZE:
                yield page
                page = {}
        if page:
            yield page

    def iter_all(self) -> Iterator[StoredChunk]:
        """Every chunk with its text and metadata, read in pages so memory stays flat."""
        for chunk_id, document, raw, _ in self._iter_get(
            ids=None, where=None, include=["metadatas", "documents"]
        ):
            yield StoredChunk(chunk_id, document or "", from_chroma_metadata(raw, chunk_id=chunk_id), None)

    def count(self) -> int:
        return self._conn.call("count", lambda col: col.count())

    def ping(self) -> None:
        """Raise `StoreUnavailable` unless the store answers."""
        self._conn.call("ping", lambda col: col.count())

    # --- companions ---------------------------------------------------------------------------------

    def on_companion(self, companion: Companion, operation: str, action: Callable[[Collection], T]) -> T:
        """Run `action` on a collection beside the chunks (`common.store.companions`), through the same
        connection, retries, circuit breaker and error mapping as every chunk operation."""
        return self._conn.call(
            operation, lambda _: action(self._conn.companion(companion.collection_for(self._collection_name)))
        )

    # --- plumbing -----------------------------------------------------------------------------------

    def _iter_get(
        self, *, ids: Sequence[str] | None, where: Mapping[str, Any] | None, include: list[str]
    ) -> Iterator[tuple[str, str | None, dict[str, Any], Any]]:
        """Page through `get` so reading 100k chunks never asks the server for everything at once."""
        if ids is not None:
            for batch in self._batches(list(ids)):
                yield from self._get_page(ids=batch, where=where, include=include, offset=None)
            return
        offset = 0
        while True:
            rows = list(self._get_page(ids=None, where=where, include=include, offset=offset))
            yield from rows
            if len(rows) < READ_PAGE_SIZE:
                return
            offset += len(rows)

    def _get_page(
        self,
        *,
        ids: Sequence[str] | None,
        where: Mapping[str, Any] | None,
        include: list[str],
        offset: int | None,
    ) -> Iterator[tuple[str, str | None, dict[str, Any], Any]]:
        limit = None if ids is not None else READ_PAGE_SIZE
        result = self._conn.call(
            "get",
            lambda col: col.get(
                ids=list(ids) if ids is not None else None,
                where=dict(where) if where else None,
                limit=limit,
                offset=offset,
                include=include,  # type: ignore[arg-type]
            ),
        )
        count = len(result["ids"])
        stored_documents = result.get("documents")
        documents: list[str | None] = [None] * count if stored_documents is None else list(stored_documents)
        metadatas: list[Any] = list(result.get("metadatas") or [{}] * count)
        stored_embeddings = result.get("embeddings")
        embeddings: list[Any] = [None] * count if stored_embeddings is None else list(stored_embeddings)
        for index, chunk_id in enumerate(result["ids"]):
            yield chunk_id, documents[index], dict(metadatas[index] or {}), embeddings[index]

    def _batches(self, items: Sequence[T]) -> Iterator[Sequence[T]]:
        size = self._max_batch_size()
        for start in range(0, len(items), size):
            yield items[start : start + size]

    def _max_batch_size(self) -> int:
        """The server's limit, or a lower cap given at construction (tests use it to force splitting)."""
        if self._max_batch is None:
            server_max = self._conn.call(
                "get_max_batch_size", lambda col: self._conn.client.get_max_batch_size()
            )
            self._max_batch = min(server_max, self._batch_cap or server_max)
        return self._max_batch


def _stamped(metadatas: list[ChromaMetadata]) -> list[ChromaMetadata]:
    """A write says when it happened (`CHANGED_AT`) in the same call, so no reader can see the new values
    without the new time; called inside each attempt, so a retried write carries the time it was sent."""
    now = time.time()
    return [{**metadata, CHANGED_AT: now} for metadata in metadatas]


def _without(chunk: Chunk, fields: Sequence[str]) -> ChromaMetadata:
    metadata = to_chroma_metadata(chunk.metadata)
    for name in fields:
        metadata.pop(name, None)
    return metadata


def _delete(col: Collection, *, ids: list[str]) -> None:
    col.delete(ids=ids)
