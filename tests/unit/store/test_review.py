"""The one review rule: whole UTC days, shared by ranking's verified bonus and quality's decay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from common.config import load_settings
from common.runtime.quality import build_quality_policy
from common.runtime.search import build_ranking_weights
from common.store.review import is_verified, overdue_days, review_due_on
from tests.support.chunks import make_chunk

INTERVAL = timedelta(days=90)
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_a_review_is_due_the_interval_after_the_last_review() -> None:
    meta = make_chunk(reviewed_at=datetime(2026, 8, 27, 18, 0, tzinfo=UTC), reviewed_by="x").metadata

    assert review_due_on(meta, INTERVAL) == datetime(2026, 11, 25).date()


def test_a_never_reviewed_chunk_is_due_the_interval_after_its_last_update() -> None:
    meta = make_chunk(updated_at=datetime(2026, 1, 1, tzinfo=UTC)).metadata

    assert review_due_on(meta, INTERVAL) == datetime(2026, 4, 1).date()


def test_content_stays_verified_through_its_due_day_even_after_the_hour_it_was_reviewed() -> None:
    reviewed = make_chunk(reviewed_at=NOW - INTERVAL - timedelta(hours=3), reviewed_by="x").metadata

    assert overdue_days(reviewed, INTERVAL, NOW.replace(hour=23)) == 0
    assert is_verified(reviewed, INTERVAL, NOW.replace(hour=23))


def test_the_day_after_the_due_day_it_is_overdue_and_no_longer_verified() -> None:
    reviewed = make_chunk(reviewed_at=NOW - INTERVAL, reviewed_by="x").metadata
    tomorrow = NOW + timedelta(days=1)

    assert overdue_days(reviewed, INTERVAL, tomorrow) == 1
    assert not is_verified(reviewed, INTERVAL, tomorrow)


def test_content_never_reviewed_is_never_verified() -> None:
    assert not is_verified(make_chunk(updated_at=NOW).metadata, INTERVAL, NOW)


def test_ranking_and_decay_agree_on_every_day_around_the_due_day() -> None:
    settings = load_settings()
    weights, policy = build_ranking_weights(settings), build_quality_policy(settings)
    reviewed = make_chunk(reviewed_at=NOW - INTERVAL, reviewed_by="x").metadata

    for offset in range(-2, 3):
        moment = NOW + timedelta(days=offset, hours=offset * 5)
        verified = is_verified(reviewed, weights.review_interval, moment)
        assert verified == (policy.overdue_days(reviewed, moment) == 0)
