"""How stored knowledge about a chunk moves it up or down after retrieval relevance is known.

Every signal is a bounded multiplier or a small bonus on the fused relevance score, read from Chroma
metadata only, so relevance always dominates: a poorly rated passage sinks below comparable ones but is
never hidden when it is the only one that answers.

- Quality: `quality_score` 0 to 100 maps linearly onto [quality_min, quality_max]; neutral 50 is 1.0.
- Freshness: up to `freshness_max_bonus` for content updated today, halving every half-life;
  small, because an old policy that is still right must not lose to a new draft.
- Verified: a bonus while the content's last review is within the review interval.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from common.store.chunk import NEUTRAL_QUALITY_SCORE, ChunkMetadata
from common.store.review import is_verified


@dataclass(frozen=True, slots=True)
class RankingWeights:
    """Built from settings by the wiring (`common.runtime.search`); the defaults live in `Settings` only."""

    quality_min: float
    quality_max: float
    freshness_max_bonus: float
    freshness_half_life_days: float
    verified_bonus: float
    review_interval: timedelta


@dataclass(frozen=True, slots=True)
class ScoreParts:
    """Why a result ranks where it does; returned with every result."""

    dense: float
    keyword: float
    relevance: float
    quality_factor: float
    freshness_bonus: float
    verified_bonus: float
    final: float

    def as_dict(self) -> dict[str, float]:
        return {name: round(value, 6) for name, value in asdict(self).items()}


def score(
    *,
    dense: float,
    keyword: float,
    relevance: float,
    meta: ChunkMetadata,
    weights: RankingWeights,
    now: datetime,
) -> ScoreParts:
    quality = quality_factor(meta.quality_score, weights)
    freshness = freshness_bonus(meta.updated_at, weights, now)
    verified = weights.verified_bonus if is_verified(meta, weights.review_interval, now) else 0.0
    return ScoreParts(
        dense=dense,
        keyword=keyword,
        relevance=relevance,
        quality_factor=quality,
        freshness_bonus=freshness,
        verified_bonus=verified,
        final=relevance * quality * (1.0 + freshness + verified),
    )


def quality_factor(quality_score: float, weights: RankingWeights) -> float:
    if quality_score >= NEUTRAL_QUALITY_SCORE:
        share = (quality_score - NEUTRAL_QUALITY_SCORE) / (100.0 - NEUTRAL_QUALITY_SCORE)
        return 1.0 + share * (weights.quality_max - 1.0)
    share = (NEUTRAL_QUALITY_SCORE - quality_score) / NEUTRAL_QUALITY_SCORE
    return 1.0 - share * (1.0 - weights.quality_min)


def freshness_bonus(updated_at: datetime, weights: RankingWeights, now: datetime) -> float:
    age_days = max(0.0, (now - updated_at).total_seconds() / 86_400)
    return float(weights.freshness_max_bonus * 0.5 ** (age_days / weights.freshness_half_life_days))
