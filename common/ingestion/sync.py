"""Keeping Chroma in step with the source, space by space.

For each space:
1. List every page (ids, versions, restrictions). The listing is all-or-nothing: a source that fails midway
   raises, and then nothing is deleted this run.
2. Index the pages changed since the saved cursor, minus an overlap window (clocks and Confluence's
   minute-granular, user-timezone CQL dates are not to be trusted to the second). A page created after
   the listing was taken is indexed here and kept: reconcile never deletes what this run just read.
3. Reconcile: delete pages that are gone or newly restricted (a restriction on an ancestor counts), and
   fetch any listed page whose stored version differs — a safety net for anything the CQL window missed and
   for a previous run that stopped halfway.
4. Save the cursor, only if the space synced without errors, so failed pages are retried next run.

After every space, when anything changed (or no keyword index was ever built), the keyword index is rebuilt
once and saved, so searches in every process pick up the new artifact instead of each rebuilding it.

A space that fails is reported and the next one goes on; only an outage (`ServiceUnavailable`) stops the
whole run, because every later space would fail the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from common.confluence.models import PageRef, PageSource, SourcePage
from common.errors import ServiceUnavailable, SourceError
from common.ingestion.indexer import Indexer, PageOutcome
from common.logs import get_logger
from common.store.chunk_store import ChunkStore
from common.store.sync_state import SyncCursors

log = get_logger(__name__)


@dataclass(slots=True)
class SyncSummary:
    pages_seen: int = 0
    pages_changed: int = 0
    pages_deleted: int = 0
    chunks_upserted: int = 0
    chunks_embedded: int = 0
    chunks_deleted: int = 0
    errors: int = 0
    error_details: list[dict[str, str]] = field(default_factory=list)

    def add(self, outcome: PageOutcome) -> None:
        self.pages_seen += 1
        self.pages_changed += int(outcome.changed)
        self.chunks_upserted += outcome.chunks_written
        self.chunks_embedded += outcome.chunks_embedded
        self.chunks_deleted += outcome.chunks_deleted
        if outcome.error:
            self.record_error(outcome.error, page_id=outcome.page_id)

    def record_error(self, message: str, **ids: str) -> None:
        self.errors += 1
        self.error_details.append({**ids, "error": message})

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


ProgressCallback = Callable[[str, PageOutcome | None], None]
"""Called with the space key and each page outcome (None when a space starts), for progress display."""


class DerivedIndex(Protocol):
    """An index derived from the chunks (the keyword index) that a sync brings up to date."""

    def has_artifact(self) -> bool: ...

    def rebuild(self) -> object: ...


class Synchronizer:
    def __init__(
        self,
        *,
        source: PageSource,
        store: ChunkStore,
        indexer: Indexer,
        overlap: timedelta,
        derived: DerivedIndex | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._source = source
        self._store = store
        self._cursors = SyncCursors(store)
        self._indexer = indexer
        self._overlap = overlap
        self._derived = derived
        self._clock = clock

    def run(
        self,
        *,
        spaces: Iterable[str] | None = None,
        full: bool = False,
        progress: ProgressCallback | None = None,
    ) -> SyncSummary:
        summary = SyncSummary()
        for space_key in self._source.space_keys() if spaces is None else spaces:
            try:
                self._sync_space(space_key, full=full, summary=summary, progress=progress or _no_progress)
            except ServiceUnavailable:
                raise
            except SourceError as exc:
                log.error("space_failed", space=space_key, error=str(exc))
                summary.record_error(str(exc), space=space_key)
        if self._derived is not None and (
            summary.pages_changed or summary.pages_deleted or not self._derived.has_artifact()
        ):
            self._derived.rebuild()
        return summary

    def _sync_space(
        self, space_key: str, *, full: bool, summary: SyncSummary, progress: ProgressCallback
    ) -> None:
        started = self._clock()
        errors_before = summary.errors
        progress(space_key, None)
        listing = self._listing(space_key, summary)
        blocked = _restricted_ids(listing) if listing is not None else set()
        since = None if full else self._since(space_key)
        log.info("space_sync_started", space=space_key, since=since.isoformat() if since else None, full=full)

        seen: set[str] = set()
        changed = self._source.changed_pages(space_key, since)
        for outcome in self._indexer.index(self._visible(changed, blocked, seen, summary)):
            summary.add(outcome)
            progress(space_key, outcome)

        if listing is not None:
            self._reconcile(space_key, listing, blocked, seen, summary, progress)
        if summary.errors == errors_before:
            self._cursors.set(space_key, started.isoformat())
        log.info("space_sync_finished", space=space_key, errors=summary.errors - errors_before)

    def _listing(self, space_key: str, summary: SyncSummary) -> list[PageRef] | None:
        try:
            return self._source.list_pages(space_key)
        except ServiceUnavailable:
            raise
        except SourceError as exc:
            log.error("listing_failed", space=space_key, error=str(exc))
            summary.record_error(f"listing failed, deletions skipped: {exc}", space=space_key)
            return None

    def _since(self, space_key: str) -> datetime | None:
        cursor = self._cursors.get(space_key)
        if cursor is None:
            return None
        return datetime.fromisoformat(cursor) - self._overlap

    def _visible(
        self, pages: Iterable[SourcePage], blocked: set[str], seen: set[str], summary: SyncSummary
    ) -> Iterator[SourcePage]:
        """Pass through pages that may be indexed; remove the ones that became restricted."""
        for page in pages:
            seen.add(page.page_id)
            if page.restricted or page.page_id in blocked:
                summary.pages_seen += 1
                self._delete_page(page.page_id, summary, reason="restricted")
                continue
            yield page

    def _reconcile(
        self,
        space_key: str,
        listing: list[PageRef],
        blocked: set[str],
        seen: set[str],
        summary: SyncSummary,
        progress: ProgressCallback,
    ) -> None:
        stored = self._store.page_versions(space_key)
        allowed = {ref.page_id: ref for ref in listing if ref.page_id not in blocked}
        if not listing and stored:
            summary.record_error(
                f"the source listed no pages but {len(stored)} are stored; refusing to delete them all "
                "(check the sync account's permissions on the space)",
                space=space_key,
            )
            return
        indexed_this_run = seen - blocked
        for page_id in sorted(set(stored) - set(allowed) - indexed_this_run):
            self._delete_page(page_id, summary, reason="gone or restricted")
        missed = [ref for pid, ref in allowed.items() if pid not in seen and stored.get(pid) != ref.version]
        if missed:
            log.info("reconcile_fetching", space=space_key, pages=len(missed))
        for outcome in self._indexer.index(self._fetch(missed, summary)):
            summary.add(outcome)
            progress(space_key, outcome)

    def _fetch(self, refs: list[PageRef], summary: SyncSummary) -> Iterator[SourcePage]:
        for ref in refs:
            try:
                yield self._source.get_page(ref.page_id)
            except ServiceUnavailable:
                raise
            except SourceError as exc:
                summary.record_error(str(exc), page_id=ref.page_id)

    def _delete_page(self, page_id: str, summary: SyncSummary, *, reason: str) -> None:
        deleted = self._store.delete_page(page_id)
        if deleted:
            summary.pages_deleted += 1
            summary.chunks_deleted += deleted
            log.info("page_removed", page_id=page_id, reason=reason, chunks=deleted)


def _restricted_ids(listing: list[PageRef]) -> set[str]:
    """Pages restricted themselves or below a restricted ancestor: Confluence restrictions inherit down."""
    direct = {ref.page_id for ref in listing if ref.restricted}
    return {ref.page_id for ref in listing if ref.page_id in direct or direct.intersection(ref.ancestor_ids)}


def _no_progress(_: str, __: PageOutcome | None) -> None:
    return None
