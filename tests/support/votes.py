"""Votes for tests, with defaults for everything a test does not care about."""

from __future__ import annotations

from datetime import UTC, datetime

from common.store.votes import Vote, VoteKind


def vote(
    chunk_id: str,
    *,
    page_id: str = "p1",
    user: str = "U1",
    answer: str = "A1",
    kind: VoteKind = "helpful",
    at: datetime | None = None,
    question: str = "How do I connect to the VPN?",
    comment: str = "",
) -> Vote:
    return Vote(
        chunk_id=chunk_id,
        page_id=page_id,
        answer_id=answer,
        user_id=user,
        kind=kind,
        voted_at=at or datetime.now(UTC),
        question=question,
        comment=comment,
    )
