"""The analytics record of one answered question, the same whether it was asked in Slack or with `kb ask`."""

from __future__ import annotations

from common.answers.composer import ComposedAnswer
from common.events.model import BotResponse, Event, QueryRecord


def answer_events(
    composed: ComposedAnswer,
    *,
    question_id: str,
    answer_id: str,
    user_id: str,
    channel_type: str,
    question: str,
    latency_ms: float,
    source: str,
) -> list[Event]:
    """A `query_record` and its `bot_response`; the answer's text stays where it was shown."""
    return [
        QueryRecord(
            question_id=question_id,
            user_id=user_id,
            channel_type=channel_type,
            query=question,
            results=len(composed.results),
            top_score=composed.results[0].scores.final if composed.results else 0.0,
            latency_ms=round(latency_ms, 1),
            source=source,
        ),
        BotResponse(
            answer_id=answer_id,
            question_id=question_id,
            writer=composed.answer.writer,
            grounded=composed.found,
            cited_chunk_ids=composed.cited_chunk_ids(),
            latency_ms=round(latency_ms, 1),
            used_restricted=composed.used_restricted,
        ),
    ]
