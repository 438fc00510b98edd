"""The questions of a window that the knowledge base answered badly: what gap analysis clusters.

A question counts when any of its answers was declined (the writer found nothing to cite), drew a negative
vote (the latest kind of a vote is `not_helpful`, `outdated` or `incorrect`), or was followed by a
`frustration` signal (a frustrated reply in its thread). It belongs to the window it was asked in, whenever
the vote or the reply came. Its text is the first wording recorded for it; empty questions are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from common.analytics.query import period_views, run
from common.store.votes import NEGATIVE_VOTE_KINDS

GapReason = Literal["declined", "negative_feedback", "frustration"]
REASONS: tuple[GapReason, ...] = ("declined", "negative_feedback", "frustration")

_BAD_QUESTIONS = """
WITH asked AS (
  SELECT question_id, arg_min(query, occurred_at) AS text, arg_min(channel_type, occurred_at) AS channel_type,
         min(occurred_at) AS asked_at
  FROM query_records WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY question_id
), latest_votes AS (
  SELECT answer_id, vote FROM user_feedback
  QUALIFY row_number() OVER (PARTITION BY vote_id ORDER BY occurred_at DESC, event_id DESC) = 1
), declined AS (
  SELECT DISTINCT question_id FROM bot_responses WHERE NOT grounded
), rated_down AS (
  SELECT DISTINCT r.question_id FROM bot_responses r JOIN latest_votes v ON v.answer_id = r.answer_id
  WHERE list_contains($3, v.vote)
), frustrated AS (
  SELECT DISTINCT r.question_id FROM bot_responses r JOIN behavioral_signals s ON s.answer_id = r.answer_id
  WHERE s.signal = 'frustration'
)
SELECT a.question_id, a.text, a.channel_type,
       d.question_id IS NOT NULL, n.question_id IS NOT NULL, f.question_id IS NOT NULL
FROM asked a
LEFT JOIN declined d ON d.question_id = a.question_id
LEFT JOIN rated_down n ON n.question_id = a.question_id
LEFT JOIN frustrated f ON f.question_id = a.question_id
WHERE trim(a.text) <> ''
  AND (d.question_id IS NOT NULL OR n.question_id IS NOT NULL OR f.question_id IS NOT NULL)
ORDER BY a.asked_at, a.question_id"""


@dataclass(frozen=True, slots=True)
class BadQuestion:
    question_id: str
    text: str
    channel_type: str
    """Slack's conversation type (`im`, `mpim`, `channel`, `group`), or where else it was asked."""
    why: tuple[GapReason, ...]
    """Every reason that holds, in the order of `REASONS`."""


def bad_questions(paths: Sequence[Path], *, since: datetime, until: datetime) -> list[BadQuestion]:
    """Questions asked in [since, until), oldest first."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError(f"Gap windows need timezone-aware bounds, got {since!r} and {until!r}")
    with period_views(paths) as conn:
        rows = run(conn, _BAD_QUESTIONS, [since, until, list(NEGATIVE_VOTE_KINDS)]).rows
    return [
        BadQuestion(
            question_id=question_id,
            text=text.strip(),
            channel_type=channel_type,
            why=tuple(reason for reason, holds in zip(REASONS, flags, strict=True) if holds),
        )
        for question_id, text, channel_type, *flags in rows
    ]
