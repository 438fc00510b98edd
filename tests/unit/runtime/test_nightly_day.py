"""Which day the nightly evaluation judges: the UTC day before the moment it runs as, which EVAL_DAY moves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from common.runtime.nightly import evaluated_as_of

NOW = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)


def test_without_eval_day_the_evaluation_runs_as_of_now() -> None:
    assert evaluated_as_of(None, now=NOW) == NOW


def test_eval_day_runs_it_as_of_four_in_the_morning_after_that_day_whenever_the_job_runs() -> None:
    for now in (NOW, NOW + timedelta(days=30), NOW.astimezone(timezone(timedelta(hours=-8)))):
        assert evaluated_as_of(date(2026, 11, 2), now=now) == datetime(2026, 11, 3, 4, 0, tzinfo=UTC)


def test_eval_day_is_the_day_before_the_moment_it_runs_as() -> None:
    day = date(2026, 12, 31)

    assert evaluated_as_of(day, now=NOW).date() - timedelta(days=1) == day
