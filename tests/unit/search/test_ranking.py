"""Ranking signals: bounded, neutral at the defaults, explained in score parts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from common.config import load_settings
from common.runtime.search import build_ranking_weights
from common.search.ranking import freshness_bonus, quality_factor, score
from tests.support.chunks import make_chunk

WEIGHTS = build_ranking_weights(load_settings())
"""The defaults, as settings give them."""
NOW = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.mark.parametrize(("quality", "factor"), [(0, 0.75), (25, 0.875), (50, 1.0), (75, 1.125), (100, 1.25)])
def test_quality_maps_linearly_onto_the_bounded_multiplier(quality: float, factor: float) -> None:
    assert quality_factor(quality, WEIGHTS) == pytest.approx(factor)


def test_freshness_bonus_halves_every_half_life() -> None:
    today = freshness_bonus(NOW, WEIGHTS, NOW)
    older = freshness_bonus(NOW - timedelta(days=180), WEIGHTS, NOW)

    assert today == pytest.approx(0.10)
    assert older == pytest.approx(0.05)


def test_final_score_is_relevance_times_quality_times_bonuses() -> None:
    meta = make_chunk(quality_score=100.0, updated_at=NOW, reviewed_at=NOW, reviewed_by="x").metadata

    parts = score(dense=0.8, keyword=3.0, relevance=0.6, meta=meta, weights=WEIGHTS, now=NOW)

    assert parts.final == pytest.approx(0.6 * 1.25 * (1 + 0.10 + 0.05))


def test_even_the_worst_quality_keeps_most_of_the_relevance() -> None:
    meta = make_chunk(quality_score=0.0).metadata

    parts = score(dense=0.9, keyword=5.0, relevance=1.0, meta=meta, weights=WEIGHTS, now=NOW)

    assert parts.final >= 0.75


def test_the_verified_bonus_follows_the_review_rule() -> None:
    lapsed = make_chunk(
        quality_score=50.0, updated_at=NOW, reviewed_at=NOW - timedelta(days=91), reviewed_by="x"
    )

    parts = score(dense=0.8, keyword=3.0, relevance=0.6, meta=lapsed.metadata, weights=WEIGHTS, now=NOW)

    assert parts.verified_bonus == 0.0
