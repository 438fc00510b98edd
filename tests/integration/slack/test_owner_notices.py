"""Owner notices as Slack DMs under failure and concurrency: nothing reported is lost from the digest, and
two instances never post the day's first message twice."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.config import get_settings, load_settings
from common.quality.notices import OwnerNotices, Problem
from common.runtime.quality import build_owner_notices
from common.runtime.store import build_store
from common.store.access import ReadRule
from common.store.chunk_store import ChunkStore
from tests.support.chunks import make_chunk
from tests.support.slack_standin import SlackStandin
from tests.support.spool import spooled_events

OWNER = "priya.raman@larkspur.example"
OWNER_SLACK_ID = "UPRIYA"


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandin]:
    with SlackStandin() as standin:
        standin.add_user(OWNER_SLACK_ID, OWNER, "Priya")
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
        monkeypatch.setenv("SLACK_API_URL", standin.api_url)
        get_settings.cache_clear()
        yield standin


@pytest.fixture
def store(slack: SlackStandin) -> ChunkStore:
    store = build_store(load_settings())
    store.upsert([make_chunk("p1", 0, owner=OWNER), make_chunk("p1", 1, owner=OWNER)])
    return store


def _notices(store: ChunkStore) -> OwnerNotices:
    """What one instance builds: its own Slack client and its own claimant, the shared store."""
    notices = build_owner_notices(get_settings(), store)
    assert notices is not None
    return notices


def _problem(comment: str) -> Problem:
    return Problem(page_id="p1", kind="outdated", question="How do I connect?", comment=comment)


def _digest_text(slack: SlackStandin) -> str:
    """What the owner sees now: the last update of the message, or the message as posted."""
    latest = (slack.calls_to("chat.update") or slack.messages_to(OWNER_SLACK_ID))[-1]
    return json.dumps(latest.args["blocks"])


def test_a_dm_slack_refuses_is_delivered_by_the_next_run_with_everything_reported(
    store: ChunkStore, slack: SlackStandin
) -> None:
    slack.fail_next("chat.postMessage", status=500, retry_after=None)
    notices = _notices(store)

    notices.notify(_problem("first report"))
    assert len(slack.messages_to(OWNER_SLACK_ID)) == 1  # refused

    assert notices.deliver_pending() == 1
    [_, posted] = slack.messages_to(OWNER_SLACK_ID)
    assert "first report" in json.dumps(posted.args["blocks"])
    assert notices.deliver_pending() == 0


def test_the_next_notice_also_delivers_what_an_earlier_one_could_not(
    store: ChunkStore, slack: SlackStandin
) -> None:
    slack.fail_next("chat.postMessage", status=500, retry_after=None)
    _notices(store).notify(_problem("first report"))

    _notices(store).notify(_problem("second report"))

    assert len(slack.messages_to(OWNER_SLACK_ID)) == 2  # the refused one, then the one that arrived
    assert "first report" in _digest_text(slack) and "second report" in _digest_text(slack)


def test_an_update_slack_refuses_is_delivered_later(store: ChunkStore, slack: SlackStandin) -> None:
    notices = _notices(store)
    notices.notify(_problem("first report"))
    slack.fail_next("chat.update", status=500, retry_after=None)
    notices.notify(_problem("second report"))

    assert notices.deliver_pending() == 1
    assert "second report" in _digest_text(slack)


def test_two_instances_noticing_the_first_problems_at_once_post_one_message_with_both(
    store: ChunkStore, slack: SlackStandin
) -> None:
    instances = [_notices(store) for _ in range(4)]
    barrier = threading.Barrier(len(instances))

    def notify(index: int) -> None:
        barrier.wait()
        instances[index].notify(_problem(f"report {index}"))

    threads = [threading.Thread(target=notify, args=(i,)) for i in range(len(instances))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    instances[0].deliver_pending()

    assert len(slack.messages_to(OWNER_SLACK_ID)) == 1
    assert all(f"report {i}" in _digest_text(slack) for i in range(len(instances)))


def test_an_owner_who_is_not_on_slack_is_reported_once_and_not_retried(
    store: ChunkStore, slack: SlackStandin
) -> None:
    store.upsert([make_chunk("p2", 0, owner="gone@larkspur.example")])
    notices = _notices(store)

    notices.notify(Problem(page_id="p2", kind="incorrect"))

    assert notices.deliver_pending() == 0
    assert slack.calls_to("chat.postMessage") == []


def _restricted(store: ChunkStore, *rules: ReadRule) -> None:
    store.upsert([make_chunk("p9", 0, owner=OWNER, read_rules=rules, page_title="Salary review 2027")])


def test_a_digest_about_a_restricted_page_reaches_an_owner_allowed_to_read_it(
    store: ChunkStore, slack: SlackStandin
) -> None:
    _restricted(store, ReadRule(users=("557058:priya",)))

    _notices(store).notify(Problem(page_id="p9", kind="outdated", question="q", comment="stale"))

    assert "Salary review 2027" in json.dumps(slack.messages_to(OWNER_SLACK_ID)[-1].args)


def test_a_digest_about_a_restricted_page_never_reaches_an_owner_it_leaves_out(
    store: ChunkStore, slack: SlackStandin, kb_home: Path
) -> None:
    _restricted(store, ReadRule(groups=("hr",)))

    _notices(store).notify(Problem(page_id="p9", kind="outdated", question="q", comment="stale"))

    assert slack.messages_to(OWNER_SLACK_ID) == []
    events = spooled_events(kb_home)
    assert [(e["kind"], e["page_id"]) for e in events if e["kind"] == "owner_unreachable"] == [
        ("owner_unreachable", "p9")
    ]
