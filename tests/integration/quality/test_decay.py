"""The decay sweep across simulated dates: toward the floor, idempotent per day, undone by a review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from common.config import Settings, load_settings
from common.quality.decay import run_decay
from common.quality.model import QualityPolicy
from common.quality.writer import QualityWriter
from common.runtime.quality import build_quality_policy
from common.runtime.store import build_store
from common.store.chunk import NEUTRAL_QUALITY_SCORE
from common.store.chunk_store import ChunkStore
from common.store.votes import VoteStore
from tests.support.chunks import make_chunk
from tests.support.votes import vote

UPDATED = datetime(2026, 1, 1, 9, tzinfo=UTC)
REVIEW_DUE = UPDATED + timedelta(days=90)


@pytest.fixture
def settings() -> Settings:
    return load_settings()


@pytest.fixture
def policy(settings: Settings) -> QualityPolicy:
    return build_quality_policy(settings)


@pytest.fixture
def store(settings: Settings) -> ChunkStore:
    store = build_store(settings)
    fresh = UPDATED + timedelta(days=80)
    store.upsert(
        [
            make_chunk("stale", 0, updated_at=UPDATED),
            make_chunk("stale", 1, updated_at=UPDATED),
            make_chunk("fresh", 0, updated_at=fresh),
        ]
    )
    return store


def _writer(store: ChunkStore, policy: QualityPolicy, now: datetime) -> QualityWriter:
    return QualityWriter(store=store, votes=VoteStore(store), policy=policy, clock=lambda: now)


def _quality(store: ChunkStore, chunk_id: str) -> float:
    return store.get_metadata(ids=[chunk_id])[chunk_id].quality_score


def test_nothing_changes_before_the_review_is_due(store: ChunkStore, policy: QualityPolicy) -> None:
    summary = run_decay(store, policy, now=REVIEW_DUE)

    assert summary.chunks_updated == 0
    assert _quality(store, "stale-0") == NEUTRAL_QUALITY_SCORE


def test_overdue_content_loses_score_along_the_curve(store: ChunkStore, policy: QualityPolicy) -> None:
    one_half_life_late = REVIEW_DUE + timedelta(days=policy.half_life_days)

    summary = run_decay(store, policy, now=one_half_life_late)

    expected = policy.floor + (NEUTRAL_QUALITY_SCORE - policy.floor) / 2
    assert _quality(store, "stale-0") == pytest.approx(expected)
    assert _quality(store, "fresh-0") == NEUTRAL_QUALITY_SCORE
    assert summary.chunks_overdue == 2


def test_running_twice_on_one_day_changes_nothing_the_second_time(
    store: ChunkStore, policy: QualityPolicy
) -> None:
    morning = REVIEW_DUE + timedelta(days=20, hours=1)
    run_decay(store, policy, now=morning)
    after_first = _quality(store, "stale-0")

    second = run_decay(store, policy, now=morning + timedelta(hours=12))

    assert second.chunks_updated == 0
    assert _quality(store, "stale-0") == after_first


def test_each_further_day_decays_a_little_more_toward_the_floor(
    store: ChunkStore, policy: QualityPolicy
) -> None:
    scores = []
    for day in (10, 11, 400):
        run_decay(store, policy, now=REVIEW_DUE + timedelta(days=day))
        scores.append(_quality(store, "stale-0"))

    assert scores[0] > scores[1] > scores[2] >= policy.floor


def test_a_review_restores_the_score_and_decay_leaves_it_alone(
    store: ChunkStore, policy: QualityPolicy
) -> None:
    late = REVIEW_DUE + timedelta(days=60)
    run_decay(store, policy, now=late)
    assert _quality(store, "stale-0") < NEUTRAL_QUALITY_SCORE

    _writer(store, policy, late).mark_reviewed("stale", reviewer="priya.raman@larkspur.example")
    run_decay(store, policy, now=late + timedelta(days=1))

    assert _quality(store, "stale-0") == NEUTRAL_QUALITY_SCORE


def test_decay_starts_from_what_the_votes_say(
    store: ChunkStore, policy: QualityPolicy, settings: Settings
) -> None:
    late = REVIEW_DUE + timedelta(days=policy.half_life_days)
    _writer(store, policy, REVIEW_DUE).record_votes(
        [vote("stale-0", page_id="stale", user=f"U{n}") for n in range(5)]
    )

    run_decay(store, policy, now=late)

    voted = NEUTRAL_QUALITY_SCORE + 5 * settings.quality_vote_helpful
    assert _quality(store, "stale-0") == pytest.approx(policy.floor + (voted - policy.floor) / 2)


def test_pages_pushed_under_the_alert_threshold_are_reported(
    store: ChunkStore, policy: QualityPolicy
) -> None:
    summary = run_decay(store, policy, now=REVIEW_DUE + timedelta(days=100))

    assert summary.pages_fell_under_threshold == ("stale",)
