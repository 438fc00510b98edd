"""Pages that may be obsolete, each with the reasons a person can check: `kb review-queue` and the report.

A page is listed when any of these holds, and every one that holds is given as a reason:

- It has not changed in `after_days` (OBSOLETE_AFTER_DAYS). An owner's review counts as a change: a review
  says the page is still right, so the days run from the later of the two.
- Its quality (its lowest chunk score, as in the review queue) is under the alert threshold.
- More than half of the feedback people gave it is negative (`not_helpful`, `outdated` or `incorrect`).
- It was shown in Slack answers at least `min_shown` times and nobody ever opened it from there.

Quality comes from Chroma, how a page is used from the analytics events. `common.quality` may not read the
analytics files, so usage arrives as `PageUsage` values the caller fills (`common.analytics.page_usage`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from urllib.parse import urldefrag

from common.quality.model import QualityPolicy
from common.quality.page_chunks import chunks_by_page
from common.store.chunk import ChunkMetadata
from common.store.chunk_store import ChunkStore


@dataclass(frozen=True, slots=True)
class PageUsage:
    """How a page was used, from the analytics events."""

    shown: int = 0
    """Answers in Slack that showed the page as a source (where it could have been opened)."""
    source_clicks: int = 0
    """Times someone opened the page from an answer's sources."""
    votes: int = 0
    """Feedback given on answers citing the page: one per person and answer, their latest kind."""
    negative_votes: int = 0


NO_USAGE = PageUsage()


@dataclass(frozen=True, slots=True)
class ObsoletePage:
    page_id: str
    title: str
    url: str
    space_key: str
    owner: str
    restricted: bool
    """Shared views (`kb report`) leave a restricted page's title and link out."""
    reasons: tuple[str, ...]
    """Readable, e.g. "not updated in 812 days", "quality 24 < 30", "4 of 6 votes negative"."""

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        return data


def obsolete_pages(
    store: ChunkStore,
    policy: QualityPolicy,
    usage: Mapping[str, PageUsage],
    *,
    now: datetime,
    after_days: int,
    min_shown: int,
    owner: str | None = None,
) -> list[ObsoletePage]:
    """Most reasons first. `usage` is keyed by page id; a page missing from it was never used."""
    found = [
        _obsolete(chunks, usage.get(page_id, NO_USAGE), policy, now, after_days, min_shown)
        for page_id, chunks in chunks_by_page(store, owner=owner).items()
    ]
    listed = [page for page in found if page.reasons]
    return sorted(listed, key=lambda page: (-len(page.reasons), page.title, page.page_id))


def pages_by_url(store: ChunkStore) -> dict[str, str]:
    """Page ids by URL (without its fragment), for finding the page a clicked source link opened."""
    return {
        urldefrag(meta.url).url: meta.page_id
        for batch in store.iter_metadata_pages()
        for meta in batch.values()
        if meta.url
    }


def _obsolete(
    chunks: list[ChunkMetadata],
    usage: PageUsage,
    policy: QualityPolicy,
    now: datetime,
    after_days: int,
    min_shown: int,
) -> ObsoletePage:
    first = chunks[0]
    reasons: list[str] = []
    updated = max(meta.updated_at for meta in chunks)
    reviewed = max((meta.reviewed_at for meta in chunks if meta.reviewed_at), default=None)
    unchanged = (now - max(updated, reviewed or updated)).days
    if unchanged >= after_days:
        what = "updated or reviewed" if reviewed is not None and reviewed > updated else "updated"
        reasons.append(f"not {what} in {unchanged} days")
    quality = min(meta.quality_score for meta in chunks)
    if quality < policy.alert_threshold:
        reasons.append(f"quality {_number(quality)} < {_number(policy.alert_threshold)}")
    if usage.votes and usage.negative_votes * 2 > usage.votes:
        reasons.append(f"{usage.negative_votes} of {usage.votes} votes negative")
    if usage.shown >= min_shown and usage.source_clicks == 0:
        reasons.append(f"shown {usage.shown} times, never opened")
    return ObsoletePage(
        page_id=first.page_id,
        title=first.page_title,
        url=first.url,
        space_key=first.space_key,
        owner=first.owner,
        restricted=any(meta.restricted for meta in chunks),
        reasons=tuple(reasons),
    )


def _number(value: float) -> str:
    """24.0 reads "24" and 29.6 "29.6": a rounded 30 next to "< 30" would read as a contradiction."""
    return f"{round(value, 1):g}"
