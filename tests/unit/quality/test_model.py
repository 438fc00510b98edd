"""The quality model as a pure function of votes and timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from common.config import load_settings
from common.runtime.quality import build_quality_policy
from common.store.chunk import NEUTRAL_QUALITY_SCORE, ChunkMetadata
from tests.support.chunks import make_chunk

POLICY = build_quality_policy(load_settings())
UPDATED = datetime(2026, 1, 1, tzinfo=UTC)
DUE = UPDATED + timedelta(days=90)


def _meta(**fields: object) -> ChunkMetadata:
    return make_chunk(updated_at=UPDATED, **fields).metadata


def test_no_votes_is_neutral() -> None:
    assert POLICY.feedback_score([]) == NEUTRAL_QUALITY_SCORE


def test_problem_votes_weigh_more_than_a_plain_down_vote() -> None:
    not_helpful = POLICY.feedback_score(["not_helpful"])

    assert POLICY.feedback_score(["outdated"]) < not_helpful
    assert POLICY.feedback_score(["incorrect"]) < POLICY.feedback_score(["outdated"])


def test_the_score_is_clamped_to_0_and_100() -> None:
    assert POLICY.feedback_score(["helpful"] * 50) == 100.0
    assert POLICY.feedback_score(["incorrect"] * 50) == 0.0


def test_vote_order_does_not_matter() -> None:
    votes = ["helpful"] * 10 + ["not_helpful"] * 3

    assert POLICY.feedback_score(votes) == POLICY.feedback_score(list(reversed(votes)))  # type: ignore[arg-type]


def test_content_within_its_review_interval_keeps_its_score() -> None:
    assert POLICY.quality_score(feedback_score=80.0, meta=_meta(), now=DUE) == 80.0


def test_overdue_content_loses_half_its_gap_to_the_floor_per_half_life() -> None:
    later = DUE + timedelta(days=POLICY.half_life_days)

    score = POLICY.quality_score(feedback_score=80.0, meta=_meta(), now=later)

    assert score == pytest.approx(POLICY.floor + (80.0 - POLICY.floor) / 2)


def test_decay_never_goes_below_the_floor_nor_raises_a_low_score() -> None:
    much_later = DUE + timedelta(days=3650)

    assert POLICY.quality_score(feedback_score=80.0, meta=_meta(), now=much_later) >= POLICY.floor
    assert POLICY.quality_score(feedback_score=5.0, meta=_meta(), now=much_later) == 5.0


def test_decay_counts_whole_days_so_one_day_gives_one_score() -> None:
    morning = DUE + timedelta(days=10, hours=1)
    evening = DUE + timedelta(days=10, hours=23)

    assert POLICY.quality_score(feedback_score=80.0, meta=_meta(), now=morning) == POLICY.quality_score(
        feedback_score=80.0, meta=_meta(), now=evening
    )


def test_a_review_resets_the_clock() -> None:
    late = DUE + timedelta(days=60)
    reviewed = _meta(reviewed_at=late - timedelta(days=1))

    assert POLICY.quality_score(feedback_score=80.0, meta=reviewed, now=late) == 80.0
