"""The small collections that live beside the chunks, named in one registry.

Anything the product must keep about chunks that is not a chunk lives in a companion collection on the same
Chroma server, named `<chunk collection>-<name>`: a lost or restored store and its companions can then never
disagree, and every instance reaches them through the same connection, retries and circuit breaker. Backup
and restore read `COMPANIONS`, so a companion added here is backed up and restored with no other change.

Companion records have no meaningful vector; they are read by id or by a metadata filter only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from common.store.chunk_store import ChunkStore

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Companion:
    name: str
    """The collection is `<chunk collection>-<name>`; backups name its files after it."""
    holds: str

    def collection_for(self, chunk_collection: str) -> str:
        return f"{chunk_collection}-{self.name}"


VOTES = Companion("votes", "every vote, one record each, that quality scores are computed from")
SYNC_STATE = Companion("sync-state", "each space's sync cursor, one record per space")
NOTICES = Companion("notices", "the day's digest message to each owner about each page")
COMPANIONS: tuple[Companion, ...] = (VOTES, SYNC_STATE, NOTICES)


def placeholder_embeddings(count: int) -> npt.NDArray[np.float32]:
    return np.ones((count, 1), dtype=np.float32)


class CompanionRecords:
    """Records of one companion: put, get, find, delete and page through them."""

    def __init__(self, store: ChunkStore, companion: Companion) -> None:
        self._store = store
        self._companion = companion

    def put(self, records: Mapping[str, Record]) -> None:
        """Insert or replace records by id."""
        if not records:
            return
        ids = list(records)
        self._store.on_companion(
            self._companion,
            f"put_{self._companion.name}",
            lambda col: col.upsert(
                ids=ids,
                embeddings=placeholder_embeddings(len(ids)),
                metadatas=[records[i] for i in ids],
            ),
        )

    def get(self, ids: Sequence[str]) -> dict[str, Record]:
        if not ids:
            return {}
        result = self._store.on_companion(
            self._companion,
            f"get_{self._companion.name}",
            lambda col: col.get(ids=list(ids), include=["metadatas"]),
        )
        return _records(result)

    def find(self, where: Mapping[str, Any]) -> dict[str, Record]:
        result = self._store.on_companion(
            self._companion,
            f"find_{self._companion.name}",
            lambda col: col.get(where=dict(where), include=["metadatas"]),
        )
        return _records(result)

    def find_ids(self, where: Mapping[str, Any]) -> list[str]:
        """Only the ids of the records that match: Chroma answers this without reading their metadata,
        which at 1,000 matches is about ten times cheaper than `find`."""
        result = self._store.on_companion(
            self._companion,
            f"find_{self._companion.name}_ids",
            lambda col: col.get(where=dict(where), include=[]),
        )
        return list(result["ids"])

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._store.on_companion(
                self._companion, f"delete_{self._companion.name}", lambda col: col.delete(ids=list(ids))
            )

    def pages(self, page_size: int) -> Iterator[dict[str, Record]]:
        """Every record, `page_size` at a time, so a backup never holds them all at once."""
        offset = 0
        while True:
            result = self._store.on_companion(
                self._companion,
                f"page_{self._companion.name}",
                lambda col, at=offset: col.get(limit=page_size, offset=at, include=["metadatas"]),  # type: ignore[misc]
            )
            page = _records(result)
            if not page:
                return
            yield page
            if len(page) < page_size:
                return
            offset += len(page)


def _records(result: Mapping[str, Any]) -> dict[str, Record]:
    ids = list(result["ids"])
    metadatas = list(result.get("metadatas") or [{}] * len(ids))
    return {record_id: dict(metadata or {}) for record_id, metadata in zip(ids, metadatas, strict=True)}
