"""The one way quality fields are written, safe with any number of concurrent writers.

Chroma has no atomic update: two processes that read a score, add to it and write it back lose one vote
(200 concurrent increments kept 54 in a measurement here). So no writer ever adds to a stored score. Votes
are separate records (`common.store.votes`), which concurrent writers cannot overwrite; a chunk's
`feedback_score`, `quality_score` and `feedback_count` are recomputed from its tally of *all* votes and its
timestamps (`common.quality.model`) and written back; then the writer reads its inputs again and, if anything
changed meanwhile (another vote, a review, a sync), recomputes. Whichever writer writes last has therefore
read every vote written before its write, so the final score always counts every vote: no cross-process lock,
no single-writer deployment, and nothing to fail over. The decay job follows the same read-write-verify rule.

Tallies come from vote record ids alone, so a vote costs about the same on a chunk with a thousand votes as on
one with none, and within one process recomputes take turns that serve every caller waiting for the same
chunks (`common.quality.recompute_turns`), so a burst of clicks on one answer costs a few turns, not one each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from common.logs import get_logger
from common.quality.model import QualityPolicy
from common.quality.recompute_turns import RecomputeTurns
from common.store.chunk import ChunkMetadata
from common.store.chunk_store import ChunkStore
from common.store.votes import Tally, Vote, VoteStore

log = get_logger(__name__)

MAX_ROUNDS = 20


@dataclass(frozen=True, slots=True)
class QualityChange:
    chunk_id: str
    page_id: str
    before: float
    after: float
    feedback_count: int


def _inputs(meta: ChunkMetadata, tally: Tally) -> tuple[Any, ...]:
    """Everything a chunk's scores are computed from; if this differs after a write, recompute."""
    return (meta.reviewed_at, meta.updated_at, tally)


class QualityWriter:
    def __init__(
        self,
        *,
        store: ChunkStore,
        votes: VoteStore,
        policy: QualityPolicy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._votes = votes
        self._policy = policy
        self._clock = clock
        self._turns: RecomputeTurns[QualityChange] = RecomputeTurns()

    @property
    def policy(self) -> QualityPolicy:
        return self._policy

    def record_votes(self, votes: Sequence[Vote]) -> dict[str, QualityChange]:
        """Store the votes, then bring every voted chunk's scores up to date. Chunks that no longer exist
        keep their votes (the record of what people said) and are left out of the result."""
        self._votes.put(votes)
        return self.recompute(vote.chunk_id for vote in votes)

    def resolve_outdated(self, chunk_ids: Iterable[str]) -> dict[str, QualityChange]:
        """A page edit changed these chunks: their `outdated` votes stop counting, and their scores are
        recomputed from the new `updated_at` too, so edited content is fresh again at once."""
        ids = sorted(set(chunk_ids))
        if not ids:
            return {}
        self._votes.resolve_outdated(ids)
        return self.recompute(ids)

    def follow_moves(self, moves: Mapping[str, str]) -> None:
        """A sync gave moved text a new chunk id: its votes go with it, and its scores are recomputed."""
        if moves and self._votes.reassign(moves):
            self.recompute(moves.values())

    def mark_reviewed(
        self, page_id: str, *, reviewer: str, at: datetime | None = None
    ) -> dict[str, QualityChange]:
        """Record a review on every chunk of the page, which restores any decayed score at once.

        `at` is when the owner pressed the button (a review kept during an outage is applied later); a chunk
        already reviewed at or after it keeps its newer review."""
        reviewed_at = at or self._clock()
        metas = self._store.get_metadata(where={"page_id": page_id})
        ids = [
            cid for cid, meta in metas.items() if meta.reviewed_at is None or meta.reviewed_at < reviewed_at
        ]
        self._store.batch_update_metadata(
            {cid: {"reviewed_by": reviewer, "reviewed_at": reviewed_at} for cid in ids}, skip_missing=True
        )
        log.info("page_reviewed", page_id=page_id, reviewer=reviewer, chunks=len(ids))
        return self.recompute(ids)

    def recompute(self, chunk_ids: Iterable[str]) -> dict[str, QualityChange]:
        return self._turns.run(sorted(set(chunk_ids)), self._recompute)

    def _recompute(self, pending: list[str]) -> dict[str, QualityChange]:
        changes: dict[str, QualityChange] = {}
        for _ in range(MAX_ROUNDS):
            if not pending:
                return changes
            metas = self._store.get_metadata(ids=pending)
            tallies = self._votes.tallies(metas)
            read = {cid: _inputs(meta, tallies[cid]) for cid, meta in metas.items()}
            updates = {cid: self._fields(meta, tallies[cid]) for cid, meta in metas.items()}
            self._store.batch_update_metadata(updates, skip_missing=True)
            for cid, fields in updates.items():
                previous = changes.get(cid)
                changes[cid] = QualityChange(
                    chunk_id=cid,
                    page_id=metas[cid].page_id,
                    before=previous.before if previous else metas[cid].quality_score,
                    after=fields["quality_score"],
                    feedback_count=fields["feedback_count"],
                )
            pending = self._moved_since(read)
        log.error("quality_not_settled", chunks=pending[:20], rounds=MAX_ROUNDS)
        return changes

    def _fields(self, meta: ChunkMetadata, tally: Tally) -> dict[str, Any]:
        feedback = self._policy.feedback_score(tally.counted_kinds())
        return {
            "feedback_score": feedback,
            "quality_score": self._policy.quality_score(
                feedback_score=feedback, meta=meta, now=self._clock()
            ),
            "feedback_count": tally.total,
        }

    def _moved_since(self, read: Mapping[str, tuple[Any, ...]]) -> list[str]:
        metas = self._store.get_metadata(ids=list(read))
        tallies = self._votes.tallies(metas)
        return sorted(cid for cid, meta in metas.items() if _inputs(meta, tallies[cid]) != read[cid])
