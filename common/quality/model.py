"""The quality model: what a chunk's `quality_score` is, as a pure function of its votes and timestamps.

Two numbers live on each chunk in Chroma:

- `feedback_score` = neutral 50 + the sum of its active votes' points, clamped to 0 to 100. A sum (not a
  running clamp) makes the score independent of vote order, so replacing a vote or resolving one is exact.
- `quality_score` = `feedback_score` decayed for staleness: once the review interval since `reviewed_at`
  (or `updated_at` if never reviewed) has passed, the gap above `floor` halves every `half_life_days`
  overdue. Whole days only, so recomputing twice on one day gives the same number; a review or an edit resets
  the clock, which restores the score at once. Decay never raises a score that is already below the floor.

Everything that writes these fields computes them here, from stored inputs, so any writer can recompute them
from scratch at any time; that is what makes concurrent writers safe (`common.quality.writer`).
See docs/quality.md for the defaults and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from common.store.chunk import NEUTRAL_QUALITY_SCORE, ChunkMetadata
from common.store.review import overdue_days
from common.store.votes import VoteKind

PROBLEM_KINDS: frozenset[VoteKind] = frozenset({"outdated", "incorrect"})
"""Votes that tell the owner something is wrong, not just unhelpful: they notify and weigh more."""


@dataclass(frozen=True, slots=True)
class QualityPolicy:
    points: dict[VoteKind, float]
    review_interval: timedelta
    floor: float
    half_life_days: float
    alert_threshold: float

    def feedback_score(self, active_votes: Iterable[VoteKind]) -> float:
        total = NEUTRAL_QUALITY_SCORE + sum(self.points[kind] for kind in active_votes)
        return round(min(100.0, max(0.0, total)), 2)

    def overdue_days(self, meta: ChunkMetadata, now: datetime) -> int:
        return overdue_days(meta, self.review_interval, now)

    def quality_score(self, *, feedback_score: float, meta: ChunkMetadata, now: datetime) -> float:
        overdue = self.overdue_days(meta, now)
        if overdue == 0 or feedback_score <= self.floor:
            return feedback_score
        remaining: float = 0.5 ** (overdue / self.half_life_days)
        return round(self.floor + (feedback_score - self.floor) * remaining, 2)
