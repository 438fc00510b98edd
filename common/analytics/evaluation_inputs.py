"""What the nightly evaluation reads from the analytics files: the questions the bot answered in a window,
and the scores of an earlier evaluation report to compare with.

A question counts as answered when it has a `bot_response`, declined ones included (its re-run may answer
now); it is listed once, with the first wording recorded for it, and empty questions are left out. Of the
evaluation reports published in a window the last one counts, since a later run of the same day saw the
same answers at least as completely.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from common.analytics.query import period_views, run

_ANSWERED = """
WITH asked AS (
  SELECT question_id, arg_min(query, occurred_at) AS text, min(occurred_at) AS asked_at
  FROM query_records WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY question_id
)
SELECT a.question_id, a.text FROM asked a
WHERE trim(a.text) <> '' AND EXISTS (SELECT 1 FROM bot_responses r WHERE r.question_id = a.question_id)
ORDER BY a.asked_at, a.question_id"""

_LAST_EVALUATION = """
SELECT groundedness, relevance, completeness, golden_hit_at_3 FROM quality_reports
WHERE report = 'evaluation' AND occurred_at >= $1 AND occurred_at < $2
ORDER BY occurred_at DESC, event_id DESC LIMIT 1"""

_METRICS = ("groundedness", "relevance", "completeness", "golden_hit_at_3")


@dataclass(frozen=True, slots=True)
class AnsweredQuestion:
    question_id: str
    question: str


class AnalyticsEvaluationInputs:
    def __init__(self, paths: Sequence[Path]) -> None:
        """`paths`: local copies of the monthly analytics files (`PeriodFiles.local_copies`)."""
        self._paths = paths

    def answered_between(self, start: datetime, end: datetime) -> list[AnsweredQuestion]:
        """Questions asked in [start, end), in the order they were asked."""
        _check_window(start, end)
        with period_views(self._paths) as conn:
            rows = run(conn, _ANSWERED, [start, end]).rows
        return [
            AnsweredQuestion(question_id=question_id, question=text.strip()) for question_id, text in rows
        ]

    def evaluation_published_between(self, start: datetime, end: datetime) -> dict[str, float | None] | None:
        """The metrics of the last evaluation report published in [start, end), by name; None if none was."""
        _check_window(start, end)
        with period_views(self._paths) as conn:
            rows = run(conn, _LAST_EVALUATION, [start, end]).rows
        if not rows:
            return None
        return dict(zip(_METRICS, rows[0], strict=True))


def _check_window(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError(f"Evaluation windows need timezone-aware bounds, got {start!r} and {end!r}")
