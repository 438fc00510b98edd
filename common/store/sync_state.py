"""Each space's sync cursor: when its last clean sync started.

Cursors live in the `sync-state` companion, one record per space, so a lost or restored store and its
cursors can never disagree (an empty store has none and gets a full sync), and parallel sync tasks writing
different spaces never overwrite each other.
"""

from __future__ import annotations

from common.store.chunk_store import ChunkStore
from common.store.companions import SYNC_STATE, CompanionRecords


class SyncCursors:
    def __init__(self, store: ChunkStore) -> None:
        self._records = CompanionRecords(store, SYNC_STATE)

    def get(self, space_key: str) -> str | None:
        record = self._records.get([space_key]).get(space_key)
        return str(record["cursor"]) if record and "cursor" in record else None

    def set(self, space_key: str, cursor: str) -> None:
        self._records.put({space_key: {"cursor": cursor}})
