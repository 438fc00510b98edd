"""The candidates of a search, read through a per-process cache that asks Chroma only what changed.

Reading candidates is most of what a search costs Chroma: on the sample space, 100 chunks with metadata
and documents took the server 16.5 ms of CPU against 1.5 ms for their ids alone, and under 8 concurrent
searches the server used as much CPU as the search function. Yet the same chunks come back search after
search, and few of them change between two searches. Every write stamps the chunk's `changed_at`
(`common.store.chunk_store`), so a search asks Chroma which of the cached candidates were written since
they were read (a filtered read that returns only those) and reads in full only those and the ones not
cached. A vote, a review or a re-sync is therefore seen by the next search of every instance.

- `changed_at` is the writer's clock, stamped as the write is sent, and the times here are the reader's:
  a change counts if it is later than the last confirmation minus `CHANGE_MARGIN_SECONDS`, so a write
  is never missed for clocks that disagree, or a write that takes, less than that.
- A confirmation (nothing written since) renews an entry; after `max_age_seconds` it is read again in full
  all the same, which bounds how long a change written without `changed_at` (by a version of the product
  that did not stamp it, during a rollout) can go unseen.
- Counters no search reads (`TALLY_FIELDS`, the access counts) are written without a stamp.
- A deleted chunk drops out: candidates the dense search did not just return are checked for existence.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from common.store.chunk_store import ChunkStore, StoredChunk

CHANGE_MARGIN_SECONDS = 30.0
"""Instances on Google Cloud keep time within milliseconds of each other; the rest covers a slow write
(a chunk written in the last half minute is read again by every search, which costs little)."""


@dataclass(frozen=True, slots=True)
class _Entry:
    chunk: StoredChunk
    fetched_at: float
    """When the read that returned `chunk` was sent."""
    confirmed_at: float
    """When the last read that found `chunk` unchanged (or fetched it) was sent."""


class CachedChunkReader:
    """Thread-safe: searches of one instance share it."""

    def __init__(
        self,
        store: ChunkStore,
        *,
        capacity: int,
        max_age_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._capacity = capacity
        self._max_age = max_age_seconds
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, ids: Sequence[str], *, known_to_exist: Collection[str]) -> dict[str, StoredChunk]:
        """The chunks of `ids` that are stored, as stored now. `known_to_exist`: ids Chroma has just
        returned from a query, which need no existence check."""
        sent_at = self._clock()
        cached = self._valid_entries(ids, sent_at)
        fresh: dict[str, StoredChunk] = {}
        gone: set[str] = set()
        if cached:
            since = min(entry.confirmed_at for entry in cached.values()) - CHANGE_MARGIN_SECONDS
            fresh.update((c.id, c) for c in self._store.get_chunks_changed_since(list(cached), since))
            unconfirmed = [cid for cid in cached if cid not in fresh and cid not in known_to_exist]
            if unconfirmed:
                gone = set(unconfirmed) - self._store.existing_ids(unconfirmed)
        missing = [cid for cid in dict.fromkeys(ids) if cid not in cached]
        if missing:
            fresh.update((c.id, c) for c in self._store.get_chunks(ids=missing))
        gone |= {cid for cid in missing if cid not in fresh}
        unchanged = {cid: entry for cid, entry in cached.items() if cid not in fresh and cid not in gone}
        self._remember(fresh, unchanged, gone, sent_at)
        return {cid: entry.chunk for cid, entry in unchanged.items()} | fresh

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _valid_entries(self, ids: Sequence[str], now: float) -> dict[str, _Entry]:
        with self._lock:
            valid: dict[str, _Entry] = {}
            for cid in ids:
                entry = self._entries.get(cid)
                if entry is not None and now - entry.fetched_at < self._max_age:
                    self._entries.move_to_end(cid)
                    valid[cid] = entry
            return valid

    def _remember(
        self, fresh: dict[str, StoredChunk], unchanged: dict[str, _Entry], gone: set[str], sent_at: float
    ) -> None:
        """A read sent before the entry held was fetched never replaces it: its data may be older."""
        with self._lock:
            for cid in gone:
                self._entries.pop(cid, None)
            for cid, entry in unchanged.items():
                if self._entries.get(cid) is entry:
                    renewed = max(entry.confirmed_at, sent_at)
                    self._entries[cid] = _Entry(entry.chunk, entry.fetched_at, renewed)
            for cid, chunk in fresh.items():
                held = self._entries.get(cid)
                if held is None or held.fetched_at <= sent_at:
                    self._entries[cid] = _Entry(chunk, sent_at, sent_at)
                    self._entries.move_to_end(cid)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
