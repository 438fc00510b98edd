"""Possibly obsolete pages in `kb review-queue`, from chunks in the embedded store and usage events stored
through the real ingest path: what counts as shown, as opened and as a vote."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from common.cli.main import main
from common.config import load_settings
from common.events.model import BehaviouralSignal, ChunkAccessed, Event, UserFeedback
from common.runtime.store import build_store
from tests.support.asked import store_events
from tests.support.chunks import make_chunk

NOW = datetime.now(UTC)
PRIYA = "priya.raman@larkspur.example"
TOM = "tom.okafor@larkspur.example"


def _url(page_id: str) -> str:
    return f"https://larkspur.example/wiki/spaces/HB/pages/{page_id}"


def _shown(page_id: str, times: int, *, source: str = "slack") -> list[Event]:
    """`times` answers, each showing two chunks of the page."""
    return [
        ChunkAccessed(
            chunk_id=f"{page_id}-{index}",
            page_id=page_id,
            query_id=f"{page_id}-a{n}",
            rank=index + 1,
            source=source,
        )
        for n in range(times)
        for index in range(2)
    ]


def _vote(page_id: str, answer: str, user: str, kind: str, *, chunk: int = 0, minutes: int = 0) -> Event:
    return UserFeedback(
        occurred_at=NOW - timedelta(hours=1) + timedelta(minutes=minutes),
        vote_id=f"{answer}-{user}-{chunk}",
        chunk_id=f"{page_id}-{chunk}",
        page_id=page_id,
        answer_id=answer,
        user_id=user,
        vote=kind,
        comment="",
        question="",
        quality_before=None,
        quality_after=None,
    )


@pytest.fixture
def seeded(kb_home: Path) -> Path:
    recent = NOW - timedelta(days=10)
    build_store(load_settings()).upsert(
        [
            make_chunk(page_id, index, updated_at=recent, page_title=page_id.capitalize(), owner=owner)
            for page_id, owner in (
                ("ignored", PRIYA),
                ("opened", PRIYA),
                ("searched", PRIYA),
                ("disliked", TOM),
            )
            for index in range(2)
        ]
        + [make_chunk("old", 0, updated_at=NOW - timedelta(days=800), page_title="Old", owner=TOM)]
    )
    store_events(
        kb_home,
        [
            *_shown("ignored", 12),
            *_shown("opened", 12),
            BehaviouralSignal(
                signal="source_click", answer_id="opened-a3", user_id="U1", detail=f"{_url('opened')}#setup"
            ),
            *_shown("searched", 12, source="search_api"),
            _vote("disliked", "a1", "U1", "not_helpful", chunk=0),
            _vote("disliked", "a1", "U1", "not_helpful", chunk=1),
            _vote("disliked", "a2", "U2", "incorrect"),
            _vote("disliked", "a3", "U3", "outdated"),
            _vote("disliked", "a4", "U4", "not_helpful"),
            _vote("disliked", "a4", "U4", "helpful", minutes=5),
        ],
    )
    return kb_home


def _queue(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["review-queue", "--json", *args])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _obsolete(data: dict[str, Any]) -> dict[str, list[str]]:
    return {page["page_id"]: page["reasons"] for page in data["possibly_obsolete"]}


def test_the_review_queue_lists_possibly_obsolete_pages_with_their_reasons(seeded: Path) -> None:
    assert _obsolete(_queue()) == {
        "ignored": ["shown 12 times, never opened"],
        "disliked": ["3 of 4 votes negative"],
        "old": ["not updated in 800 days"],
    }


def test_obsolete_pages_are_narrowed_to_one_owner_like_the_queue(seeded: Path) -> None:
    data = _queue("--owner", TOM)

    assert set(_obsolete(data)) == {"disliked", "old"}
    assert {page["owner"] for page in data["pages"]} == {TOM}


def test_a_listed_page_carries_what_a_report_needs(seeded: Path) -> None:
    [old] = [page for page in _queue()["possibly_obsolete"] if page["page_id"] == "old"]

    assert old == {
        "page_id": "old",
        "title": "Old",
        "url": _url("old"),
        "space_key": "HB",
        "owner": TOM,
        "restricted": False,
        "reasons": ["not updated in 800 days"],
    }


def test_the_printed_queue_shows_obsolete_pages_and_why(seeded: Path) -> None:
    result = CliRunner().invoke(main, ["review-queue"])

    assert result.exit_code == 0, result.output
    assert "Possibly obsolete (3 pages)" in result.output
    assert "never opened" in result.output


def test_nothing_to_review_says_so(kb_home: Path) -> None:
    result = CliRunner().invoke(main, ["review-queue"])

    assert result.exit_code == 0, result.output
    assert "Nothing needs review." in result.output
