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
from datetime import datetime

from common.chunks import NEUTRAL_QUALITY_SCORE, ChunkMetadata
from common.config import Settings


@dataclass(frozen=True, slots=True)
class RankingWeights:
    quality_min: float = 0.75
    quality_max: float = 1.25
    freshness_max_bonus: float = 0.10
    freshness_half_life_days: float = 180.0
    verified_bonus: float = 0.05
    review_interval_days: float = 90.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RankingWeights:
        return cls(
            quality_min=settings.search_quality_min,
            quality_max=settings.search_quality_max,
            freshness_max_bonus=settings.search_freshness_max_bonus,
            freshness_half_life_days=settings.search_freshness_half_life_days,
            verified_bonus=settings.search_verified_bonus,
            review_interval_days=settings.review_interval_days,
        )


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
    verified = weights.verified_bonus if is_verified(meta, weights, now) else 0.0
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


def is_verified(meta: ChunkMetadata, weights: RankingWeights, now: datetime) -> bool:
    """Reviewed by an owner within the review interval: what Slack shows as the verified badge."""
    if meta.reviewed_at is None:
        return False
    return (now - meta.reviewed_at).total_seconds() <= weights.review_interval_days * 86_400
