"""`kb gaps` over the synced sample space and questions stored through the real ingest path: topics with
their reasons, samples, nearest space and owners; never a direct message quoted, never a restricted page's
owner named."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from common.cli.main import main
from common.config import load_settings
from common.confluence.folder_source import FolderPageSource
from common.events.model import Event
from tests.support.asked import asked, store_events
from tests.support.runs import run_sync
from tests.support.sample_space import copy_sample_space

PAGES = ("1000", "1100", "1101", "1200", "1202", "1204", "1300", "1313")
"""VPN, parental leave and expenses, and an engineering postmortem only leadership may read."""
NOW = datetime.now(UTC)
RAVI = "ravi.kapoor@larkspur.example"
AISHA = "aisha.mensah@larkspur.example"
PRIVATE = "Do contractors file expense reports for my divorce lawyer?"

EXPENSES = (
    "How do I submit expense reports as a contractor?",
    "Can contractors file expense reports?",
    "Expense report process for contractors",
)
GYM = ("Is there a gym membership benefit?", "Do we get a gym allowance?", "Gym membership reimbursement")
POSTMORTEM = (
    "What caused the duplicate payment run in August?",
    "Why were supplier payments sent twice on 19 August?",
    "Duplicate payment run root cause",
)


@pytest.fixture(scope="module")
def synced_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gaps")
    home = root / "kb-home"
    run_sync(load_settings(kb_home=home), source=FolderPageSource(copy_sample_space(root / "hb", only=PAGES)))
    return home


@pytest.fixture
def seeded(synced_home: Path, kb_home: Path) -> Path:
    shutil.copytree(synced_home, kb_home)
    day = NOW - timedelta(days=1)
    events: list[Event] = [
        *(event for text in EXPENSES for event in asked(text, at=day, grounded=False)),
        *asked(PRIVATE, at=day, channel_type="im", votes=["not_helpful"]),
        *asked(GYM[0], at=day, grounded=False),
        *asked(GYM[1], at=day, votes=["helpful", "incorrect"]),
        *asked(GYM[2], at=day, frustrated=True),
        *(event for text in POSTMORTEM for event in asked(text, at=day, grounded=False)),
        *asked("How do I connect to the VPN from home?", at=day, votes=["helpful"]),
        *asked("How do I set up the VPN?", at=day, votes=["not_helpful", "helpful"]),
    ]
    store_events(kb_home, events)
    return kb_home


def _gaps(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["gaps", "--json", *args])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _topic(data: dict[str, Any], sample: str) -> dict[str, Any]:
    [topic] = [topic for topic in data["topics"] if sample in topic["samples"]]
    found: dict[str, Any] = topic
    return found


def test_badly_answered_questions_make_topics_with_their_reasons(seeded: Path) -> None:
    data = _gaps()

    assert data["bad_questions"] == 10
    assert sorted(topic["questions"] for topic in data["topics"]) == [3, 3, 4]
    assert _topic(data, GYM[0])["reasons"] == {"declined": 1, "negative_feedback": 1, "frustration": 1}
    assert _topic(data, EXPENSES[0])["reasons"] == {"declined": 3, "negative_feedback": 1}


def test_a_topic_names_its_suggested_page_nearest_space_and_owners(seeded: Path) -> None:
    topic = _topic(_gaps(), EXPENSES[0])

    assert "expense report" in topic["title"].lower() and "contractor" in topic["title"].lower()
    assert topic["space_key"] == "HB"
    assert topic["owners"][0] == RAVI  # owner of the Expenses page


def test_a_direct_message_counts_but_is_never_quoted(seeded: Path) -> None:
    topic = _topic(_gaps(), EXPENSES[0])
    table = CliRunner().invoke(main, ["gaps"])

    assert (topic["questions"], topic["direct_messages"]) == (4, 1)
    assert sorted(topic["samples"]) == sorted(EXPENSES)
    assert table.exit_code == 0, table.output
    assert "divorce" not in json.dumps(_gaps()) and "divorce" not in table.output


def test_the_owner_of_a_page_only_some_may_read_is_never_named(seeded: Path) -> None:
    topic = _topic(_gaps(), POSTMORTEM[0])

    assert topic["space_key"] == "HB"
    assert AISHA not in topic["owners"]


def test_questions_older_than_the_window_are_left_out(seeded: Path) -> None:
    store_events(
        seeded, [e for text in GYM for e in asked(text, at=NOW - timedelta(days=10), grounded=False)]
    )

    assert _topic(_gaps(), GYM[0])["questions"] == 3
    assert _topic(_gaps("--days", "14"), GYM[0])["questions"] == 6


def test_no_questions_means_no_gaps(kb_home: Path) -> None:
    result = CliRunner().invoke(main, ["gaps"])

    assert result.exit_code == 0, result.output
    assert "No gap topics" in result.output
