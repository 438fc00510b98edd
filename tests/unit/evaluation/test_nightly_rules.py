"""The nightly evaluation's rules on their own: which questions a day samples, and what raises an alert."""

from __future__ import annotations

from datetime import date

from common.analytics.evaluation_inputs import AnsweredQuestion
from common.evaluation.nightly import alerts_for, sample_questions

TARGETS = {"groundedness": 0.7, "relevance": 0.5, "completeness": 0.5, "golden_hit_at_3": 0.8}
GOOD = {"groundedness": 0.9, "relevance": 0.8, "completeness": 0.8, "golden_hit_at_3": 0.9}
QUESTIONS = [AnsweredQuestion(question_id=f"q{n}", question=f"question {n}") for n in range(20)]
DAY = date(2026, 11, 9)


def test_a_day_samples_the_same_questions_on_every_run() -> None:
    first = sample_questions(QUESTIONS, day=DAY, size=5)

    assert sample_questions(list(reversed(QUESTIONS)), day=DAY, size=5) == first
    assert len(first) == 5


def test_another_day_samples_other_questions() -> None:
    assert sample_questions(QUESTIONS, day=DAY, size=5) != sample_questions(
        QUESTIONS, day=date(2026, 11, 10), size=5
    )


def test_a_day_with_fewer_questions_than_the_sample_size_evaluates_them_all() -> None:
    assert sorted(q.question_id for q in sample_questions(QUESTIONS[:3], day=DAY, size=50)) == [
        "q0",
        "q1",
        "q2",
    ]


def test_scores_over_their_targets_with_nothing_to_compare_raise_no_alert() -> None:
    assert alerts_for(GOOD, None, targets=TARGETS, max_weekly_drop=0.1) == []


def test_a_score_under_its_target_alerts() -> None:
    alerts = alerts_for(GOOD | {"groundedness": 0.65}, None, targets=TARGETS, max_weekly_drop=0.1)

    assert alerts == ["groundedness is 0.65, under its target 0.70"]


def test_a_fall_of_more_than_the_allowed_share_week_on_week_alerts() -> None:
    earlier = GOOD | {"relevance": 1.0}

    alerts = alerts_for(GOOD, earlier, targets=TARGETS, max_weekly_drop=0.1)

    assert alerts == ["relevance fell 20% week on week (1.00 to 0.80)"]


def test_a_fall_within_the_allowed_share_does_not_alert() -> None:
    earlier = GOOD | {"completeness": 0.88}

    assert alerts_for(GOOD, earlier, targets=TARGETS, max_weekly_drop=0.1) == []


def test_a_metric_nothing_measured_raises_no_alert() -> None:
    scores = GOOD | {"golden_hit_at_3": None}

    assert alerts_for(scores, GOOD, targets=TARGETS, max_weekly_drop=0.1) == []


def test_the_golden_hit_rate_alerts_under_its_name() -> None:
    alerts = alerts_for(GOOD | {"golden_hit_at_3": 0.5}, None, targets=TARGETS, max_weekly_drop=0.1)

    assert alerts == ["golden hit@3 is 0.50, under its target 0.80"]
