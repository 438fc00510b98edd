"""The numbers behind the analytics report, as one JSON-ready dict, computed for a window of days up to `now`.

Kept apart from the HTML so tests and other front ends can check or reuse exactly what the page shows. Days
and weeks are UTC, and every day (or week) of the window is listed even when nothing happened, so a quiet day
reads as zero instead of vanishing from a chart. Page quality comes from the caller (it lives in Chroma).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb

from common.analytics.query import period_views, run
from common.quality.obsolescence import ObsoletePage
from common.quality.review_queue import PageAttention
from common.store.votes import NEGATIVE_VOTE_KINDS, VOTE_KINDS

TOP = 10

_QUESTIONS = """
SELECT CAST(occurred_at AS DATE), count(DISTINCT question_id) FROM query_records
WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1"""

_ANSWERS = """
SELECT CAST(occurred_at AS DATE), count(*) FILTER (WHERE grounded), count(*) FILTER (WHERE NOT grounded)
FROM bot_responses WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1"""

# A changed vote counts once, as its latest kind, in the week it was last cast.
_LATEST_VOTES = """(SELECT * FROM user_feedback
  QUALIFY row_number() OVER (PARTITION BY vote_id ORDER BY occurred_at DESC, event_id DESC) = 1)"""

_FEEDBACK = f"""
SELECT CAST(date_trunc('week', occurred_at) AS DATE), vote, count(*) FROM {_LATEST_VOTES}
WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1, 2"""

# A question went badly if its answer cited nothing or drew a negative vote; the same wording (case and
# surrounding spaces aside) asked again is the same question.
_UNANSWERED = f"""
WITH asked AS (
  SELECT question_id, arg_min(lower(trim(query)), occurred_at) AS question FROM query_records
  WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY question_id
), outcome AS (
  SELECT r.question_id, bool_or(NOT r.grounded) AS no_answer,
         count(f.event_id) FILTER (WHERE list_contains($3, f.vote)) AS negative
  FROM bot_responses r LEFT JOIN {_LATEST_VOTES} f ON f.answer_id = r.answer_id GROUP BY r.question_id
)
SELECT a.question, count(*) AS asks,
       count(*) FILTER (WHERE o.no_answer OR o.negative > 0) AS bad,
       count(*) FILTER (WHERE o.no_answer) AS no_answer, coalesce(sum(o.negative), 0) AS negative
FROM asked a LEFT JOIN outcome o USING (question_id)
GROUP BY a.question HAVING bad > 0 ORDER BY bad DESC, asks DESC, a.question LIMIT $4"""

# Signals per week, and the answers nobody came back to: no follow-up, rephrasing or complaint within the
# follow-up window (only answers older than the window can be judged).
_SIGNALS = """
SELECT CAST(date_trunc('week', occurred_at) AS DATE), signal, count(*) FROM behavioral_signals
WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1, 2"""

_NO_FOLLOW_UP = """
SELECT CAST(date_trunc('week', r.occurred_at) AS DATE), count(*) FROM bot_responses r
WHERE r.grounded AND r.occurred_at >= $1 AND r.occurred_at < $2 - to_minutes(CAST($3 AS BIGINT))
  AND NOT EXISTS (
    SELECT 1 FROM behavioral_signals s WHERE s.answer_id = r.answer_id
      AND s.signal IN ('follow_up', 'rephrase', 'frustration')
      AND s.occurred_at <= r.occurred_at + to_minutes(CAST($3 AS BIGINT)))
GROUP BY 1"""

_EVALUATION = """
SELECT CAST(occurred_at AS DATE), answers_evaluated, groundedness, relevance, completeness, golden_hit_at_3,
       alerts
FROM quality_reports WHERE report = 'evaluation' AND occurred_at >= $1 AND occurred_at < $2
QUALIFY row_number() OVER (PARTITION BY CAST(occurred_at AS DATE) ORDER BY occurred_at DESC) = 1
ORDER BY 1"""

_LATENCY = """
SELECT CAST(occurred_at AS DATE), count(*), quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.95)
FROM query_records WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1 ORDER BY 1"""


FOLLOW_UP_MINUTES = 10
"""How long after an answer a follow-up, rephrasing or complaint still counts as about it."""


def report_data(
    paths: Sequence[Path],
    *,
    now: datetime,
    review_queue: Sequence[Mapping[str, Any]],
    days: int,
    obsolete: Sequence[Mapping[str, Any]] = (),
    gaps: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """`obsolete` and `gaps` come from the caller like `review_queue` (they need Chroma and the model)."""
    if now.tzinfo is None or days < 1:
        raise ValueError(f"A report needs a timezone-aware `now` and at least one day, got {now!r}, {days}")
    first = now.astimezone(UTC).date() - timedelta(days=days - 1)
    window = (datetime.combine(first, time(), UTC), now)
    day_list = [first + timedelta(days=n) for n in range(days)]
    with period_views(paths) as conn:
        questions = _by_day(conn, _QUESTIONS, window)
        answers = _by_day(conn, _ANSWERS, window)
        feedback = run(conn, _FEEDBACK, window).rows
        unanswered = run(conn, _UNANSWERED, [*window, list(NEGATIVE_VOTE_KINDS), TOP]).rows
        latency = run(conn, _LATENCY, window).rows
        signals = run(conn, _SIGNALS, window).rows
        no_follow_up = dict(run(conn, _NO_FOLLOW_UP, [*window, FOLLOW_UP_MINUTES]).rows)
        evaluation = run(conn, _EVALUATION, window).rows
    answered = sum(row[0] for row in answers.values())
    no_answer = sum(row[1] for row in answers.values())
    return {
        "generated_at": now.isoformat(),
        "window": {"start": first.isoformat(), "end": day_list[-1].isoformat(), "days": days},
        "questions_per_day": [
            {"day": day.isoformat(), "questions": questions.get(day, (0,))[0]} for day in day_list
        ],
        "answers": {
            "answered": answered,
            "no_answer": no_answer,
            "no_answer_rate": round(no_answer / (answered + no_answer), 4) if answered + no_answer else None,
            "per_day": [
                {
                    "day": day.isoformat(),
                    "answered": answers.get(day, (0, 0))[0],
                    "no_answer": answers.get(day, (0, 0))[1],
                }
                for day in day_list
            ],
        },
        "feedback_by_week": _weeks(feedback, day_list),
        "unanswered_questions": [
            {
                "question": question,
                "asks": asks,
                "bad": bad,
                "no_answer": none,
                "negative_feedback": int(negative),
            }
            for question, asks, bad, none, negative in unanswered
        ],
        "latency_per_day": [
            {"day": day.isoformat(), "queries": count, "p50": round(p50, 1), "p95": round(p95, 1)}
            for day, count, p50, p95 in latency
        ],
        "signals_by_week": _signal_weeks(signals, no_follow_up, day_list),
        "evaluation_trend": [
            {
                "day": day.isoformat(),
                "answers": int(answers_evaluated or 0),
                "groundedness": _rounded(grounded),
                "relevance": _rounded(relevant),
                "completeness": _rounded(complete),
                "golden_hit_at_3": _rounded(golden),
                "alerts": list(alerts or []),
            }
            for day, answers_evaluated, grounded, relevant, complete, golden, alerts in evaluation
        ],
        "gaps": [dict(gap) for gap in gaps][:TOP],
        "obsolete_pages": [dict(page) for page in obsolete][:TOP],
        **_review(review_queue),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def _signal_weeks(
    rows: list[tuple[Any, ...]], no_follow_up: Mapping[date, int], day_list: list[date]
) -> list[dict[str, Any]]:
    counts = {(week, signal): count for week, signal, count in rows}
    signals = sorted({signal for _, signal, _ in rows})
    weeks = sorted({day - timedelta(days=day.weekday()) for day in day_list})
    return [
        {
            "week": week.isoformat(),
            **{signal: counts.get((week, signal), 0) for signal in signals},
            "no_follow_up": no_follow_up.get(week, 0),
        }
        for week in weeks
    ]


def _by_day(
    conn: duckdb.DuckDBPyConnection, sql: str, window: tuple[datetime, datetime]
) -> dict[date, tuple[int, ...]]:
    return {row[0]: tuple(row[1:]) for row in run(conn, sql, window).rows}


def _weeks(rows: list[tuple[Any, ...]], day_list: list[date]) -> list[dict[str, Any]]:
    counts = {(week, vote): count for week, vote, count in rows}
    votes = [*VOTE_KINDS, *sorted({vote for _, vote, _ in rows} - set(VOTE_KINDS))]
    weeks = sorted({day - timedelta(days=day.weekday()) for day in day_list})
    return [
        {"week": week.isoformat(), **{vote: counts.get((week, vote), 0) for vote in votes}} for week in weeks
    ]


def review_rows(pages: Sequence[PageAttention]) -> list[dict[str, Any]]:
    """The review queue as the report shows it. The report is a file anyone may be sent, so a restricted
    page appears by id only: its title, and its URL (Confluence's carries the title), stay out."""
    return [
        {
            "title": f"Restricted page {p.page_id}" if p.restricted else p.title,
            "url": "" if p.restricted else p.url,
            "owner": p.owner,
            "quality": p.quality,
            "overdue_days": p.overdue_days,
        }
        for p in pages
    ]


def obsolete_rows(pages: Sequence[ObsoletePage]) -> list[dict[str, Any]]:
    """Possibly obsolete pages as the report shows them, restricted ones by id only (as `review_rows`)."""
    return [
        {
            "title": f"Restricted page {p.page_id}" if p.restricted else p.title,
            "url": "" if p.restricted else p.url,
            "owner": p.owner,
            "reasons": list(p.reasons),
        }
        for p in pages
    ]


def _review(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Pages needing attention, worst first, and the per-owner backlog, from review-queue rows (title, url,
    owner, quality, overdue_days). One table, with both figures: ranked by quality and by days overdue
    the queue is mostly the same pages, and two tables of them said nothing more."""
    pages: list[dict[str, Any]] = [
        {
            "title": str(row["title"]),
            "url": str(row["url"]),
            "owner": str(row["owner"]),
            "quality": round(float(row["quality"]), 1),
            "overdue_days": int(row["overdue_days"]),
        }
        for row in rows
    ]
    owners = Counter(page["owner"] for page in pages)
    overdue = Counter(page["owner"] for page in pages if page["overdue_days"] > 0)
    return {
        "pages_needing_attention": sorted(
            pages, key=lambda p: (p["quality"], -p["overdue_days"], p["title"])
        )[:TOP],
        "owner_backlog": [
            {"owner": owner, "pages": count, "overdue_pages": overdue[owner]}
            for owner, count in sorted(owners.items(), key=lambda item: (-item[1], item[0]))
        ],
    }
