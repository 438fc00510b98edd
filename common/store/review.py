"""The one rule for a chunk's review state, used by ranking (the verified bonus and badge), by quality (decay
of overdue content) and by the review queue.

A review is due `interval` after the chunk was last reviewed, or last updated if it was never reviewed. The
rule counts whole UTC days: content is overdue from the day after its due day, and stays verified through
the due day itself. Whole days, because decay must give the same score all day long (a daily job run twice
changes nothing) and because "reviewed within 90 days" is how owners think about it; so a chunk that has been
reviewed is verified exactly when it is not overdue.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from common.store.chunk import ChunkMetadata


def review_due_on(meta: ChunkMetadata, interval: timedelta) -> date:
    return ((meta.reviewed_at or meta.updated_at) + interval).date()


def overdue_days(meta: ChunkMetadata, interval: timedelta, now: datetime) -> int:
    return max(0, (now.date() - review_due_on(meta, interval)).days)


def is_verified(meta: ChunkMetadata, interval: timedelta, now: datetime) -> bool:
    """Reviewed by an owner and not yet due again: what Slack shows as the verified badge."""
    return meta.reviewed_at is not None and overdue_days(meta, interval, now) == 0
