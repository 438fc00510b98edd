"""The daily sweep that lowers the quality of content past its review interval.

It recomputes `quality_score` from each chunk's stored `feedback_score` and timestamps
(`common.quality.model`) and writes only the chunks whose score moved, a page of chunks at a time with one
batch update. Being a recomputation rather than a subtraction, a second run on the same day writes nothing,
and a review (which resets the clock) is never undone by it. Like every quality writer it re-reads what it
wrote from: a vote or review that landed between its read and its write is recomputed, not overwritten.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from common.events.model import QualityReport
from common.logs import get_logger
from common.quality.model import QualityPolicy
from common.store.chunk import ChunkMetadata
from common.store.chunk_store import ChunkStore
from common.store.review import is_verified

log = get_logger(__name__)

DecayProgress = Callable[[int], None]
MAX_ROUNDS = 5
WRITERS = 2
"""Pages written while the next is read: Chroma serves reads and writes in parallel, about 1.5x faster."""


@dataclass(frozen=True, slots=True)
class DecaySummary:
    chunks_seen: int
    chunks_updated: int
    chunks_overdue: int
    pages_fell_under_threshold: tuple[str, ...]
    """Pages with a chunk this run pushed under the alert threshold: their owners get told."""
    report: QualityReport
    """The collection's quality after the run, for analytics."""

    def as_dict(self) -> dict[str, object]:
        return {
            "chunks_seen": self.chunks_seen,
            "chunks_updated": self.chunks_updated,
            "chunks_overdue": self.chunks_overdue,
            "pages_fell_under_threshold": list(self.pages_fell_under_threshold),
            "quality": {
                k: v
                for k, v in self.report.to_record().items()
                if k not in ("kind", "version", "event_id", "occurred_at")
            },
        }


def _inputs(meta: ChunkMetadata) -> tuple[object, ...]:
    return (meta.feedback_score, meta.reviewed_at, meta.updated_at)


def run_decay(
    store: ChunkStore,
    policy: QualityPolicy,
    *,
    now: datetime | None = None,
    progress: DecayProgress | None = None,
) -> DecaySummary:
    now = now or datetime.now(UTC)
    seen = updated = overdue = verified = 0
    fell: set[str] = set()
    scores: list[float] = []
    in_flight: deque[Future[int]] = deque()
    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="decay") as writers:
        for page in store.iter_metadata_pages():
            seen += len(page)
            overdue += sum(1 for meta in page.values() if policy.overdue_days(meta, now) > 0)
            verified += sum(1 for meta in page.values() if is_verified(meta, policy.review_interval, now))
            scores += [
                policy.quality_score(feedback_score=m.feedback_score, meta=m, now=now) for m in page.values()
            ]
            in_flight.append(writers.submit(_settle, store, policy, page, now, fell))
            if len(in_flight) >= WRITERS:
                updated += in_flight.popleft().result()
            if progress is not None:
                progress(len(page))
        updated += sum(future.result() for future in in_flight)
    log.info("quality_decay_done", chunks=seen, updated=updated, overdue=overdue, as_of=now.isoformat())
    return DecaySummary(
        chunks_seen=seen,
        chunks_updated=updated,
        chunks_overdue=overdue,
        pages_fell_under_threshold=tuple(sorted(fell)),
        report=_report(scores, overdue=overdue, verified=verified, threshold=policy.alert_threshold),
    )


def _report(scores: list[float], *, overdue: int, verified: int, threshold: float) -> QualityReport:
    values = np.asarray(scores or [0.0], dtype=np.float64)
    p10, p50, p90 = (round(float(v), 2) for v in np.percentile(values, [10, 50, 90]))
    return QualityReport(
        chunks=len(scores),
        mean=round(float(values.mean()), 2),
        p10=p10,
        p50=p50,
        p90=p90,
        overdue=overdue,
        below_threshold=int((values < threshold).sum()) if scores else 0,
        verified=verified,
    )


def _settle(
    store: ChunkStore, policy: QualityPolicy, page: dict[str, ChunkMetadata], now: datetime, fell: set[str]
) -> int:
    """Write the page's moved scores, then redo any chunk whose inputs changed under the write."""
    written = 0
    for _ in range(MAX_ROUNDS):
        updates: dict[str, dict[str, object]] = {}
        for cid, meta in page.items():
            score = policy.quality_score(feedback_score=meta.feedback_score, meta=meta, now=now)
            if score != meta.quality_score:
                updates[cid] = {"quality_score": score}
                if meta.quality_score >= policy.alert_threshold > score:
                    fell.add(meta.page_id)
        if not updates:
            return written
        written += store.batch_update_metadata(updates, skip_missing=True)
        current = store.get_metadata(ids=list(updates))
        page = {cid: meta for cid, meta in current.items() if _inputs(meta) != _inputs(page[cid])}
    return written  # still moving: the writers moving it recompute it themselves
