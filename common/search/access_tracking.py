"""Counting how often each chunk is shown, without slowing down or losing a search.

`record` only adds to an in-memory tally and hands events to the publisher; a background thread applies
the tally to Chroma's `access_count` every few seconds in one batch. Chroma has no atomic increment, so the
read-modify-write runs under a lock: one flush at a time in this process, and, for the embedded store, a
file lock that other processes on the machine respect too. A flush that fails (Chroma down) puts its
counts back for the next one, so an outage delays counts but never drops them while the process lives.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from common.errors import KbError
from common.events.model import ChunkAccessed
from common.events.publishers import EventPublisher
from common.infra.background import Periodic, machine_lock
from common.logs import get_logger
from common.search.retriever import SearchResult
from common.store.chunk_store import ChunkStore

log = get_logger(__name__)


class AccessRecorder:
    def __init__(
        self, *, store: ChunkStore, publisher: EventPublisher, lock_file: Path, flush_seconds: float = 2.0
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._lock_file = lock_file
        self._pending: Counter[str] = Counter()
        self._pending_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._flusher = Periodic(name="access-flusher", seconds=flush_seconds, tick=self.flush)

    def record(self, results: Sequence[SearchResult], *, source: str, query_id: str | None = None) -> str:
        """Tally one showing of each result's chunks and publish access events; returns the query id."""
        query_id = query_id or uuid.uuid4().hex
        events = [
            ChunkAccessed(
                chunk_id=chunk_id, page_id=result.page_id, query_id=query_id, rank=rank, source=source
            )
            for rank, result in enumerate(results, start=1)
            for chunk_id in result.chunk_ids
        ]
        with self._pending_lock:
            self._pending.update(event.chunk_id for event in events)
        self._publisher.publish(events)
        return query_id

    def flush(self) -> int:
        """Apply the tally to Chroma now; returns how many chunks were updated."""
        with self._flush_lock:
            with self._pending_lock:
                counts, self._pending = self._pending, Counter()
            if not counts:
                return 0
            try:
                with machine_lock(self._lock_file):
                    return self._apply(counts)
            except KbError as exc:
                with self._pending_lock:
                    self._pending.update(counts)
                log.warning("access_counts_deferred", chunks=len(counts), error=str(exc))
                return 0

    def start(self) -> None:
        self._flusher.start()

    def close(self) -> None:
        self._flusher.close()

    def _apply(self, counts: Counter[str]) -> int:
        current = self._store.get_metadata(ids=list(counts))
        updates = {cid: {"access_count": meta.access_count + counts[cid]} for cid, meta in current.items()}
        gone = set(counts) - set(current)
        if gone:
            log.info("access_counts_for_deleted_chunks", chunks=len(gone))
        return self._store.batch_update_metadata(updates) if updates else 0
