"""The process's keyword index: loaded once, rebuilt from Chroma when Chroma has moved on.

A search process loads the saved artifact (`common.search.keyword_artifact`) on first use, building it from
Chroma if there is none. At most every `refresh_seconds`, in a background thread, it reloads the artifact if
another process (the sync job) saved a newer one, then asks Chroma, cheaply, whether chunks were written after
the index was built or the chunk count changed; if so it rebuilds and swaps the new index in, so a chunk
written straight to Chroma (quick knowledge, a sync in another process) becomes keyword-searchable within a
minute and no query ever waits for a rebuild — except the very first one on an empty machine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from common.errors import KbError, KeywordIndexError
from common.logs import get_logger
from common.search.keyword_artifact import KeywordArtifact
from common.search.keyword_index import IndexedText, KeywordIndex, indexed_text
from common.store.chunk_store import ChunkStore

log = get_logger(__name__)


def build_from_store(store: ChunkStore) -> KeywordIndex:
    newest = 0.0
    records: list[IndexedText] = []
    for chunk in store.iter_all():
        meta = chunk.metadata
        newest = max(newest, meta.ingested_at)
        text = indexed_text(page_title=meta.page_title, parent_headers=meta.parent_headers, text=chunk.text)
        records.append(IndexedText(chunk.id, text))
    return KeywordIndex.build(records, built_at=newest)


class KeywordIndexCache:
    def __init__(
        self,
        *,
        store: ChunkStore,
        artifact: KeywordArtifact,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._artifact = artifact
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._index: KeywordIndex | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._rebuilding: threading.Thread | None = None

    def get(self) -> KeywordIndex:
        with self._lock:
            if self._index is None:
                self._index = self._load_or_build()
                self._checked_at = self._clock()
            elif self._clock() - self._checked_at >= self._refresh_seconds:
                self._checked_at = self._clock()
                self._refresh_in_background(self._index)
            return self._index

    def rebuild(self) -> KeywordIndex:
        """Build from Chroma now, save the artifact and use it; the sync job calls this after a sync."""
        index = build_from_store(self._store)
        self._artifact.save(index)
        with self._lock:
            self._index = index
        log.info("keyword_index_rebuilt", chunks=len(index), built_at=index.built_at)
        return index

    def has_artifact(self) -> bool:
        return self._artifact.exists()

    def wait_for_refresh(self) -> None:
        """Block until a background rebuild, if any, has finished (for tools and tests)."""
        thread = self._rebuilding
        if thread is not None:
            thread.join()

    def _load_or_build(self) -> KeywordIndex:
        try:
            return self._artifact.load()
        except KeywordIndexError as exc:
            log.info("keyword_index_building", reason=str(exc))
            index = build_from_store(self._store)
            self._artifact.save(index)
            return index

    def _refresh_in_background(self, current: KeywordIndex) -> None:
        if self._rebuilding is not None and self._rebuilding.is_alive():
            return
        self._rebuilding = threading.Thread(target=self._refresh, args=(current,), daemon=True)
        self._rebuilding.start()

    def _refresh(self, current: KeywordIndex) -> None:
        try:
            if self._artifact.changed_since_load():
                current = self._artifact.load()
                with self._lock:
                    self._index = current
                log.info("keyword_index_reloaded", chunks=len(current), built_at=current.built_at)
            stale = self._store.has_chunks_written_after(current.built_at) or self._store.count() != len(
                current
            )
            if stale:
                self.rebuild()
        except KbError as exc:
            log.warning("keyword_index_refresh_failed", error=str(exc))
