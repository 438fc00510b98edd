"""Keeping Chroma in step with the source, space by space.

For each space:
1. List every page (ids, versions, restrictions) and read who may view the space. The listing is
   all-or-nothing: a source that fails midway raises, and then nothing is indexed or deleted this run (a
   page's access depends on its ancestors', which only the listing gives).
2. Index the pages changed since the saved cursor, minus an overlap window (clocks and Confluence's
   minute-granular, user-timezone CQL dates are not to be trusted to the second), each with the rules of
   who may read it (`page_access`). A page created after the listing was taken is indexed here and kept:
   reconcile never deletes what this run just read.
3. Reconcile: delete pages that are gone, rewrite the access of pages whose restrictions changed (a
   restriction changes no version, and one added to a parent reaches every child), and fetch any listed page
   whose stored version differs — a safety net for anything the CQL window missed and for a previous run
   that stopped halfway.
4. Save the cursor, only if the space synced without errors, so failed pages are retried next run.

Before any space, when someone watches the run's progress, the pages it will read are counted across every
space (the source counts without reading bodies), so a progress bar has its total up front. A count that
fails is reported and the run goes on without a total: a progress bar is no reason to fail a sync.

After every space, when anything changed (or no keyword index was ever built), the keyword index is rebuilt
once and saved, so searches in every process pick up the new artifact instead of each rebuilding it.

A space that fails is reported and the next one goes on; only an outage (`ServiceUnavailable`) stops the
whole run, because every later space would fail the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from common.confluence.models import PageRef, PageSource, SourcePage
from common.errors import ServiceUnavailable, SourceError
from common.ingestion.indexer import Indexer, PageOutcome
from common.ingestion.page_access import listing_rules, page_rules
from common.logs import get_logger
from common.store.access import ReadRule
from common.store.chunk import access_fields
from common.store.chunk_store import ChunkStore, StoredPage
from common.store.sync_state import SyncCursors

log = get_logger(__name__)


@dataclass(slots=True)
class SyncSummary:
    pages_seen: int = 0
    """Pages read from the source with their bodies."""
    pages_added: int = 0
    """Pages new to the knowledge base."""
    pages_changed: int = 0
    """Pages already stored whose chunks were rewritten."""
    pages_unchanged: int = 0
    """Listed pages this run left as they were (not read, or read and found the same)."""
    pages_deleted: int = 0
    chunks_upserted: int = 0
    chunks_embedded: int = 0
    chunks_deleted: int = 0
    pages_access_changed: int = 0
    """Pages whose restrictions changed (their chunks rewritten in place, nothing re-embedded)."""
    errors: int = 0
    error_details: list[dict[str, str]] = field(default_factory=list)

    def add(self, outcome: PageOutcome) -> None:
        self.pages_seen += 1
        self.pages_added += int(outcome.changed and outcome.new)
        self.pages_changed += int(outcome.changed and not outcome.new)
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


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """What a run is about to do, known before any body is read."""

    spaces: tuple[str, ...]
    total: int | None
    """Pages the run will read over all its spaces; None when the source could not count them."""
    unknown_because: str | None = None
    """Why `total` is None."""


class SyncProgress(Protocol):
    """Someone watching a run (a progress bar)."""

    def planned(self, plan: SyncPlan) -> None:
        """Once, before any space is synced."""
        ...

    def space_started(self, space_key: str) -> None: ...

    def page_done(self, space_key: str, outcome: PageOutcome) -> None:
        """Each page read and indexed (or failed)."""
        ...

    def more_pages(self, space_key: str, count: int) -> None:
        """Pages beyond the plan's total: the reconcile found listed pages the change window missed."""
        ...


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
        progress: SyncProgress | None = None,
    ) -> SyncSummary:
        """`progress`, when given, first gets the plan: counting the pages costs a request per space, which
        only someone watching needs."""
        summary = SyncSummary()
        keys = tuple(self._source.space_keys() if spaces is None else spaces)
        if progress is not None:
            progress.planned(self._plan(keys, full=full))
        for space_key in keys:
            try:
                self._sync_space(space_key, full=full, summary=summary, progress=progress or _SILENT)
            except ServiceUnavailable:
                raise
            except SourceError as exc:
                log.error("space_failed", space=space_key, error=str(exc))
                summary.record_error(str(exc), space=space_key)
        changed = summary.pages_added or summary.pages_changed or summary.pages_deleted
        if self._derived is not None and (changed or not self._derived.has_artifact()):
            self._derived.rebuild()
        return summary

    def _plan(self, spaces: tuple[str, ...], *, full: bool) -> SyncPlan:
        total = 0
        for space_key in spaces:
            since = None if full else self._since(space_key)
            try:
                total += self._source.count_changed_pages(space_key, since)
            except SourceError as exc:
                log.info("sync_total_unknown", space=space_key, error=str(exc))
                return SyncPlan(spaces, None, unknown_because=f"space {space_key}: {exc}")
        log.info("sync_planned", spaces=list(spaces), pages=total)
        return SyncPlan(spaces, total)

    def _sync_space(
        self, space_key: str, *, full: bool, summary: SyncSummary, progress: SyncProgress
    ) -> None:
        started = self._clock()
        errors_before = summary.errors
        progress.space_started(space_key)
        listing = self._listing(space_key, summary)
        if listing is None:
            return
        space = self._source.space_read_rule(space_key)
        rules = listing_rules(listing, space)
        listed = {ref.page_id: ref for ref in listing}
        since = None if full else self._since(space_key)
        log.info("space_sync_started", space=space_key, since=since.isoformat() if since else None, full=full)

        seen: set[str] = set()
        touched: set[str] = set()
        changed = self._source.changed_pages(space_key, since)
        self._index(space_key, self._with_access(changed, listed, space, seen), summary, progress, touched)

        self._reconcile(space_key, listing, rules, space, seen, summary, progress, touched)
        summary.pages_unchanged += len(listed.keys() - touched)
        if summary.errors == errors_before:
            self._cursors.set(space_key, started.isoformat())
        log.info("space_sync_finished", space=space_key, errors=summary.errors - errors_before)

    def _index(
        self,
        space_key: str,
        pages: Iterable[SourcePage],
        summary: SyncSummary,
        progress: SyncProgress,
        touched: set[str],
    ) -> None:
        """`touched` gathers the pages written or failed, which are not unchanged."""
        for outcome in self._indexer.index(pages):
            summary.add(outcome)
            if outcome.changed or outcome.error:
                touched.add(outcome.page_id)
            progress.page_done(space_key, outcome)

    def _listing(self, space_key: str, summary: SyncSummary) -> list[PageRef] | None:
        try:
            return self._source.list_pages(space_key)
        except ServiceUnavailable:
            raise
        except SourceError as exc:
            log.error("listing_failed", space=space_key, error=str(exc))
            summary.record_error(f"listing failed, nothing indexed or deleted: {exc}", space=space_key)
            return None

    def _since(self, space_key: str) -> datetime | None:
        cursor = self._cursors.get(space_key)
        if cursor is None:
            return None
        return datetime.fromisoformat(cursor) - self._overlap

    def _with_access(
        self,
        pages: Iterable[SourcePage],
        listed: dict[str, PageRef],
        space: ReadRule | None,
        seen: set[str],
    ) -> Iterator[SourcePage]:
        """Each page with every restriction a reader must pass, its ancestors' from the listing."""
        for page in pages:
            seen.add(page.page_id)
            rules = page_rules(page.read_rule, page.ancestor_ids, listed=listed, space=space)
            yield replace(page, read_rules=rules)

    def _reconcile(
        self,
        space_key: str,
        listing: list[PageRef],
        rules: dict[str, tuple[ReadRule, ...]],
        space: ReadRule | None,
        seen: set[str],
        summary: SyncSummary,
        progress: SyncProgress,
        touched: set[str],
    ) -> None:
        stored = self._store.page_states(space_key)
        listed = {ref.page_id: ref for ref in listing}
        if not listing and stored:
            summary.record_error(
                f"the source listed no pages but {len(stored)} are stored; refusing to delete them all "
                "(check the sync account's permissions on the space)",
                space=space_key,
            )
            return
        for page_id in sorted(set(stored) - set(listed) - seen):
            self._delete_page(page_id, summary, reason="gone")
        for page_id, state in stored.items():
            if page_id in listed and page_id not in seen and state.read_rules != rules[page_id]:
                self._set_access(page_id, state.chunk_ids, rules[page_id], summary)
        missed = [
            ref for pid, ref in listed.items() if pid not in seen and _version(stored, pid) != ref.version
        ]
        if missed:
            log.info("reconcile_fetching", space=space_key, pages=len(missed))
            progress.more_pages(space_key, len(missed))
        fetched = self._with_access(
            self._fetch(space_key, missed, summary, progress, touched), listed, space, seen
        )
        self._index(space_key, fetched, summary, progress, touched)

    def _set_access(
        self, page_id: str, chunk_ids: tuple[str, ...], rules: tuple[ReadRule, ...], summary: SyncSummary
    ) -> None:
        """Only who may read the page changed: its chunks keep text, vectors and scores."""
        updated = self._store.batch_update_metadata(
            dict.fromkeys(chunk_ids, access_fields(rules)), skip_missing=True
        )
        summary.pages_access_changed += 1
        log.info("page_access_changed", page_id=page_id, chunks=updated, rules=len(rules))

    def _fetch(
        self,
        space_key: str,
        refs: list[PageRef],
        summary: SyncSummary,
        progress: SyncProgress,
        touched: set[str],
    ) -> Iterator[SourcePage]:
        for ref in refs:
            try:
                yield self._source.get_page(ref.page_id)
            except ServiceUnavailable:
                raise
            except SourceError as exc:
                summary.record_error(str(exc), page_id=ref.page_id)
                touched.add(ref.page_id)
                progress.page_done(space_key, PageOutcome(ref.page_id, ref.title, error=str(exc)))

    def _delete_page(self, page_id: str, summary: SyncSummary, *, reason: str) -> None:
        deleted = self._store.delete_page(page_id)
        if deleted:
            summary.pages_deleted += 1
            summary.chunks_deleted += deleted
            log.info("page_removed", page_id=page_id, reason=reason, chunks=deleted)


def _version(stored: dict[str, StoredPage], page_id: str) -> int | None:
    state = stored.get(page_id)
    return state.version if state is not None else None


class _Silent:
    """Progress nobody watches."""

    def planned(self, plan: SyncPlan) -> None:
        return None

    def space_started(self, space_key: str) -> None:
        return None

    def page_done(self, space_key: str, outcome: PageOutcome) -> None:
        return None

    def more_pages(self, space_key: str, count: int) -> None:
        return None


_SILENT = _Silent()
