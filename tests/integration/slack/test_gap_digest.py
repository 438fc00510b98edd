"""The weekly gap digest through the real job entry point, to the Slack stand-in: one DM per owner and one
admin message a week whatever reruns, nothing quoted from a direct message, unreachable owners reported."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.config import get_settings, load_settings
from common.confluence.folder_source import FolderPageSource
from common.errors import EXIT_OK, EXIT_UNAVAILABLE
from common.events.model import Event
from common.runtime.gaps import run_weekly_gaps
from common.runtime.store import build_store
from jobs import weekly_gaps
from tests.support.asked import asked, store_events
from tests.support.runs import run_sync
from tests.support.sample_space import copy_sample_space
from tests.support.slack_standin import SlackStandin
from tests.support.spool import spooled_events

PAGES = ("1000", "1200", "1202", "1204")
RAVI, RAVI_ID = "ravi.kapoor@larkspur.example", "URAVI"
HANNAH = "hannah.lindqvist@larkspur.example"
ADMINS = "CADMINS"
NOW = datetime.now(UTC)
EXPENSES = (
    "How do I submit expense reports as a contractor?",
    "Can contractors file expense reports?",
    "Expense report process for contractors",
)
PRIVATE = "Do contractors file expense reports for my divorce lawyer?"
GYM = ("Is there a gym membership benefit?", "Do we get a gym allowance?", "Gym membership reimbursement")


@pytest.fixture(scope="module")
def synced_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gap-digest")
    home = root / "kb-home"
    run_sync(load_settings(kb_home=home), source=FolderPageSource(copy_sample_space(root / "hb", only=PAGES)))
    return home


@pytest.fixture
def slack(synced_home: Path, kb_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandin]:
    """Ravi is on Slack; Hannah, who owns the parental leave page, is not."""
    shutil.copytree(synced_home, kb_home)
    with SlackStandin() as standin:
        standin.add_user(RAVI_ID, RAVI, "Ravi")
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
        monkeypatch.setenv("SLACK_API_URL", standin.api_url)
        monkeypatch.setenv("KNOWLEDGE_ADMIN_CHANNEL", ADMINS)
        get_settings.cache_clear()
        yield standin


def _seed(kb_home: Path, at: datetime) -> None:
    events: list[Event] = [
        *(event for text in EXPENSES for event in asked(text, at=at, grounded=False)),
        *asked(PRIVATE, at=at, channel_type="im", grounded=False),
        *(event for text in GYM for event in asked(text, at=at, votes=["not_helpful"])),
    ]
    store_events(kb_home, events)


def _unreachable(kb_home: Path) -> list[str]:
    return [event["owner"] for event in spooled_events(kb_home) if event["kind"] == "owner_unreachable"]


def test_each_owner_gets_one_message_with_their_topics_and_the_admins_get_every_topic(
    slack: SlackStandin, kb_home: Path
) -> None:
    _seed(kb_home, NOW - timedelta(days=1))

    assert weekly_gaps.main() == EXIT_OK

    [owner_message] = slack.messages_to(RAVI_ID)
    [admin_message] = slack.messages_to(ADMINS)
    for message in (owner_message, admin_message):
        shown = json.dumps(message.args["blocks"]).lower()
        assert "expense report" in shown and "gym membership" in shown
    assert RAVI in json.dumps(admin_message.args["blocks"])


def test_a_second_run_in_the_same_week_sends_nothing_more(slack: SlackStandin, kb_home: Path) -> None:
    _seed(kb_home, NOW - timedelta(days=1))

    assert weekly_gaps.main() == EXIT_OK
    assert weekly_gaps.main() == EXIT_OK

    assert len(slack.messages_to(RAVI_ID)) == 1
    assert len(slack.messages_to(ADMINS)) == 1


def test_the_next_week_has_its_own_digest(slack: SlackStandin, kb_home: Path) -> None:
    _seed(kb_home, NOW + timedelta(hours=1))
    settings, store = get_settings(), build_store(get_settings())

    this_week = run_weekly_gaps(settings, store, now=NOW + timedelta(hours=2))
    next_week = run_weekly_gaps(settings, store, now=NOW + timedelta(days=7))

    assert this_week.week != next_week.week
    assert (this_week.owners_sent, next_week.owners_sent) == ([RAVI], [RAVI])
    assert len(slack.messages_to(ADMINS)) == 2


def test_no_message_quotes_a_question_asked_in_a_direct_message(slack: SlackStandin, kb_home: Path) -> None:
    _seed(kb_home, NOW - timedelta(days=1))

    assert weekly_gaps.main() == EXIT_OK

    sent = json.dumps([call.args for call in slack.calls_to("chat.postMessage")])
    assert "divorce" not in sent
    assert "1 more asked in direct messages" in sent
    assert EXPENSES[1] in sent


def test_an_owner_slack_cannot_find_is_reported_once_a_week(slack: SlackStandin, kb_home: Path) -> None:
    _seed(kb_home, NOW - timedelta(days=1))

    assert weekly_gaps.main() == EXIT_OK
    assert weekly_gaps.main() == EXIT_OK

    assert _unreachable(kb_home) == [HANNAH]
    assert slack.messages_to(ADMINS)  # the admins still hear of every topic


def test_a_message_slack_refuses_is_sent_by_the_next_run_and_nothing_twice(
    slack: SlackStandin, kb_home: Path
) -> None:
    _seed(kb_home, NOW - timedelta(days=1))
    slack.fail_next("chat.postMessage", status=500, retry_after=None)

    assert weekly_gaps.main() == EXIT_UNAVAILABLE
    assert weekly_gaps.main() == EXIT_OK

    [refused, delivered] = slack.messages_to(RAVI_ID)
    assert refused.args["blocks"] == delivered.args["blocks"]
    assert len(slack.messages_to(ADMINS)) == 1


def test_a_week_without_gaps_sends_nothing(slack: SlackStandin) -> None:
    assert weekly_gaps.main() == EXIT_OK

    assert slack.calls_to("chat.postMessage") == []
