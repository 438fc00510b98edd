"""Permission-aware answers through the whole system: pages restricted in Confluence (the stand-in, REST
wire format) reach exactly the people allowed to read them, in DMs only, and nothing restricted is
answered when Confluence cannot say who may read it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest

from tests.support.confluence_standin import ConfluenceStandin
from tests.support.slack_payloads import direct_message, mention
from tests.support.slack_standin import SlackStandin
from tests.support.system import PERMISSION_TTL_SECONDS, System

pytestmark = pytest.mark.e2e

ENGINEER, OUTSIDER = "UENGTOM", "UOUTLIAM"


def _until(ask: Callable[[], str], done: Callable[[str], bool], *, attempts: int = 10) -> str:
    """Ask until the answer is `done` (a change that reaches answers within a TTL), bounded."""
    for _ in range(attempts):
        answer = ask()
        if done(answer):
            return answer
    raise AssertionError(f"no answer was as expected in {attempts} tries; the last: {answer[:500]}")


def _ts() -> str:
    return f"1700{uuid.uuid4().int % 10**6:06d}.{uuid.uuid4().int % 10**6:06d}"


def _ask(system: System, question: str, *, user: str, where: str = "im") -> str:
    ts = _ts()
    event_id = f"Ev{uuid.uuid4().hex[:10]}"
    payload = (
        direct_message(event_id, question, ts=ts, user=user)
        if where == "im"
        else mention(event_id, question, ts=ts, user=user)
    )
    assert system.send_event(payload).status_code == 200
    [answer] = system.slack.wait_for_match("chat.postMessage", lambda c: c.args.get("thread_ts") == ts)
    return json.dumps(answer.args, ensure_ascii=False)


@pytest.fixture(scope="module")
def people(slack_api: SlackStandin) -> None:
    slack_api.add_user(ENGINEER, "tom.okafor@larkspur.example", "tom")
    slack_api.add_user(OUTSIDER, "liam.doyle@larkspur.example", "liam")


@pytest.fixture
def restricted_page(
    system: System, confluence: ConfluenceStandin, pages: dict[str, str], people: None
) -> tuple[str, str]:
    """A page only group `engineering` may read, with a word nothing else in the space contains."""
    word = f"zephyrine{uuid.uuid4().hex[:6]}"
    title = f"Release freeze {word}"
    page_id = confluence.add_page(
        "HB",
        title,
        f"<p>The release freeze code word is {word}; deploys pause on Fridays.</p>",
        parent_id=pages["1100"],
    )
    confluence.restrict(page_id, groups=["engineering"])
    assert system.run_job("confluence_sync").status == 0
    return word, title


def test_an_engineer_in_a_dm_is_answered_from_a_page_only_engineering_may_read(
    system: System, restricted_page: tuple[str, str]
) -> None:
    word, title = restricted_page

    assert title in _ask(system, f"What is the release freeze code word {word}?", user=ENGINEER)


def test_someone_outside_the_group_learns_nothing_of_it_even_asking_for_it_by_name(
    system: System, restricted_page: tuple[str, str]
) -> None:
    word, title = restricted_page

    answer = _ask(system, f"What is the release freeze code word {word}? {title}", user=OUTSIDER)

    assert word not in answer.replace(f"code word {word}?", "")
    assert f"Release freeze {word}" not in answer


def test_in_a_channel_not_even_the_engineer_sees_it(system: System, restricted_page: tuple[str, str]) -> None:
    word, title = restricted_page

    answer = _ask(system, f"What is the release freeze code word {word}?", user=ENGINEER, where="channel")

    assert title not in answer


def test_an_engineer_removed_from_the_group_stops_seeing_it_once_the_ttl_has_passed(
    system: System, confluence: ConfluenceStandin, restricted_page: tuple[str, str]
) -> None:
    word, title = restricted_page
    members = list(confluence.groups["engineering"])
    confluence.add_group("engineering", [m for m in members if m != "557058:tom"])
    try:
        answers = [
            _ask(system, f"What is the release freeze code word {word}?", user=ENGINEER) for _ in range(30)
        ]
        assert any(title not in answer for answer in answers), f"still shown after {PERMISSION_TTL_SECONDS} s"
    finally:
        confluence.add_group("engineering", members)


def test_a_restriction_added_to_a_parent_reaches_its_child_after_the_next_sync(
    system: System, confluence: ConfluenceStandin, pages: dict[str, str], people: None
) -> None:
    word = f"quillwort{uuid.uuid4().hex[:6]}"
    parent = confluence.add_page(
        "HB", f"Hardware lab {word}", "<p>The hardware lab.</p>", parent_id=pages["1100"]
    )
    child = f"Lab door code {word}"
    confluence.add_page("HB", child, f"<p>The lab door code word is {word}.</p>", parent_id=parent)
    assert system.run_job("confluence_sync").status == 0
    assert child in _ask(system, f"What is the lab door code word {word}?", user=OUTSIDER)

    confluence.restrict(parent, groups=["engineering"])
    assert system.run_job("confluence_sync").status == 0

    assert child not in _ask(system, f"What is the lab door code word {word}?", user=OUTSIDER)
    assert child in _ask(system, f"What is the lab door code word {word}?", user=ENGINEER)


def test_confluence_down_means_restricted_pages_are_left_out_and_the_asker_told_why(
    system: System, confluence: ConfluenceStandin, restricted_page: tuple[str, str]
) -> None:
    word, title = restricted_page
    confluence.fail("500", times=1000, path="/user/memberof")
    try:
        answers = [
            _ask(system, f"What is the release freeze code word {word}?", user=ENGINEER) for _ in range(30)
        ]
        down = next(answer for answer in answers if "could not be reached" in answer)
    finally:
        confluence.clear_faults()

    assert title not in down
