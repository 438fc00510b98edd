"""Giving a rebuilt store its learning back from the analytics events.

Chroma is the only live home of votes and scores. If it is lost and re-synced from Confluence, the chunks come
back with the same ids (they derive from page ids and structure) but neutral scores. Every vote also went out
as a `user_feedback` event and every showing as a `chunk_access` event, so the votes can be put back and the
scores recomputed by the live quality writer — the same model, so the two paths agree.

Rules, so that running this on a healthy store changes nothing:
- a vote is restored only if its record is missing; the latest event per vote id wins (with
  ANALYTICS_USER_SALT set the events hold hashed user ids, so a restored vote is keyed by the hash: a later
  vote by the same person on the same answer adds to it instead of replacing it);
- an `outdated` vote cast before its chunk's current `updated_at` is restored resolved (the page has been
  edited since; the live path resolves it when the edit changes that chunk's text);
- `access_count` is raised to the number of recorded showings, never lowered (showings still waiting in a
  spool are not in the files yet).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from common.analytics.query import query
from common.quality.writer import QualityWriter
from common.store.chunk_store import ChunkStore
from common.store.votes import VOTE_KINDS, Vote, VoteKind, VoteStore

LATEST_VOTES = """
SELECT vote_id, chunk_id, page_id, answer_id, user_id, vote, comment, question, occurred_at
FROM user_feedback
QUALIFY row_number() OVER (PARTITION BY vote_id ORDER BY occurred_at DESC, event_id DESC) = 1
"""
SHOWINGS = "SELECT chunk_id, count(*) FROM chunk_access_log GROUP BY chunk_id"


@dataclass(frozen=True, slots=True)
class RebuildSummary:
    votes_in_events: int
    votes_restored: int
    chunks_rescored: int
    access_counts_raised: int

    def as_dict(self) -> dict[str, int]:
        return {
            "votes_in_events": self.votes_in_events,
            "votes_restored": self.votes_restored,
            "chunks_rescored": self.chunks_rescored,
            "access_counts_raised": self.access_counts_raised,
        }


def rebuild_quality(store: ChunkStore, writer: QualityWriter, analytics: Sequence[Path]) -> RebuildSummary:
    rows = query(analytics, LATEST_VOTES).rows
    chunks = store.get_metadata(ids=sorted({str(row[1]) for row in rows})) if rows else {}
    existing = VoteStore(store).for_chunks(chunks)
    known = {vote.vote_id for votes in existing.values() for vote in votes}
    restored: list[Vote] = []
    for vote_id, chunk_id, page_id, answer_id, user_id, kind, comment, question, occurred_at in rows:
        meta = chunks.get(str(chunk_id))
        if meta is None or str(kind) not in VOTE_KINDS:
            continue
        voted_at = _utc(occurred_at)
        vote = Vote(
            chunk_id=str(chunk_id),
            page_id=str(page_id),
            answer_id=str(answer_id),
            user_id=str(user_id),
            kind=cast(VoteKind, str(kind)),
            voted_at=voted_at,
            question=str(question or ""),
            comment=str(comment or ""),
            resolved=str(kind) == "outdated" and voted_at < meta.updated_at,
        )
        if str(vote_id) not in known:
            restored.append(vote)
    if restored:
        writer.record_votes(restored)
    return RebuildSummary(
        votes_in_events=len(rows),
        votes_restored=len(restored),
        chunks_rescored=len({vote.chunk_id for vote in restored}),
        access_counts_raised=_raise_access_counts(store, analytics),
    )


def _raise_access_counts(store: ChunkStore, analytics: Sequence[Path]) -> int:
    shown = Counter({str(chunk_id): int(count) for chunk_id, count in query(analytics, SHOWINGS).rows})
    if not shown:
        return 0
    current = store.get_metadata(ids=sorted(shown))
    updates = {
        chunk_id: {"access_count": shown[chunk_id]}
        for chunk_id, meta in current.items()
        if shown[chunk_id] > meta.access_count
    }
    if updates:
        store.batch_update_metadata(updates, skip_missing=True)
    return len(updates)


def _utc(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
