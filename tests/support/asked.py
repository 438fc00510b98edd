"""Questions and what came of them, as the analytics events the bot publishes, stored through the real ingest
path: for tests of what analytics make of them (gaps, obsolescence)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from common.config import load_settings
from common.events.model import BehaviouralSignal, BotResponse, Event, QueryRecord, UserFeedback
from common.events.publishers import SpoolPublisher
from tests.support.runs import run_analytics_ingest


def asked(
    text: str,
    *,
    at: datetime,
    channel_type: str = "channel",
    grounded: bool = True,
    votes: Sequence[str] = (),
    frustrated: bool = False,
    user: str = "U1",
) -> list[Event]:
    """One question and its answer; `votes` are kinds voted on the answer in turn by one person (the last
    one stands), `frustrated` a frustrated reply in its thread."""
    question_id, answer_id = uuid.uuid4().hex, uuid.uuid4().hex
    events: list[Event] = [
        QueryRecord(
            occurred_at=at,
            question_id=question_id,
            user_id=user,
            channel_type=channel_type,
            query=text,
            results=3,
            top_score=0.5,
            latency_ms=120.0,
            source="slack",
        ),
        BotResponse(
            occurred_at=at + timedelta(seconds=2),
            answer_id=answer_id,
            question_id=question_id,
            writer="extractive",
            grounded=grounded,
            cited_chunk_ids=["c1"] if grounded else [],
            latency_ms=900.0,
        ),
    ]
    events += [
        UserFeedback(
            occurred_at=at + timedelta(minutes=n + 1),
            vote_id=f"{answer_id}-{user}-c1",
            chunk_id="c1",
            page_id="p1",
            answer_id=answer_id,
            user_id=user,
            vote=kind,
            comment="",
            question=text,
            quality_before=None,
            quality_after=None,
        )
        for n, kind in enumerate(votes)
    ]
    if frustrated:
        events.append(
            BehaviouralSignal(
                occurred_at=at + timedelta(minutes=5), signal="frustration", answer_id=answer_id, user_id=user
            )
        )
    return events


def store_events(kb_home: Path, events: Sequence[Event]) -> None:
    """Spool the events as the embedded publisher does, then ingest them into the analytics files."""
    SpoolPublisher(kb_home / "spool").publish(events)
    summary = run_analytics_ingest(load_settings())
    assert summary.inserted == len(events), summary
