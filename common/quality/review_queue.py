"""Which pages need their owner's attention, worst first: past their review date, or scored under the
alert threshold. Read from chunk metadata only, so it is as current as the last vote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from common.quality.model import QualityPolicy
from common.quality.page_chunks import chunks_by_page
from common.store.chunk import ChunkMetadata
from common.store.chunk_store import ChunkStore


@dataclass(frozen=True, slots=True)
class PageAttention:
    page_id: str
    title: str
    url: str
    space_key: str
    owner: str
    quality: float
    """The page's lowest chunk score: one wrong passage is enough to need a look."""
    overdue_days: int
    feedback_count: int
    reviewed_at: datetime | None
    restricted: bool
    """Whether the page has read restrictions: shared views (`kb report`) leave its title and link out."""


def review_queue(
    store: ChunkStore, policy: QualityPolicy, *, now: datetime, owner: str | None = None
) -> list[PageAttention]:
    queue = [_attention(chunks, policy, now) for chunks in chunks_by_page(store, owner=owner).values()]
    needing = [p for p in queue if p.overdue_days > 0 or p.quality < policy.alert_threshold]
    return sorted(needing, key=lambda p: (p.quality, -p.overdue_days, p.title))


def _attention(chunks: list[ChunkMetadata], policy: QualityPolicy, now: datetime) -> PageAttention:
    first = chunks[0]
    return PageAttention(
        page_id=first.page_id,
        title=first.page_title,
        url=first.url,
        space_key=first.space_key,
        owner=first.owner,
        quality=min(meta.quality_score for meta in chunks),
        overdue_days=max(policy.overdue_days(meta, now) for meta in chunks),
        feedback_count=sum(meta.feedback_count for meta in chunks),
        reviewed_at=max((m.reviewed_at for m in chunks if m.reviewed_at), default=None),
        restricted=any(meta.restricted for meta in chunks),
    )
