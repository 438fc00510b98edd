"""Answers in Slack respect who will read them: the restricted postmortem (group `engineering` and Priya)
reaches an engineer in a DM, nobody else in a DM, and nobody in a channel; what is left out is never
named. The sample space's people are matched to Slack users by email, as on Data Center."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.config import get_settings, load_settings
from common.confluence.folder_source import FolderPageSource
from common.runtime.slack import build_answer_service
from common.runtime.store import build_store
from common.slack.answering import AnswerService
from common.slack.questions import Question, parse_event
from tests.support.llm_standin import LlmStandin, Scripted
from tests.support.runs import run_sync
from tests.support.sample_space import copy_sample_space
from tests.support.slack_payloads import SLACK_FIXTURES as FIXTURES
from tests.support.slack_standin import SlackStandin, point_settings_at
from tests.support.spool import spooled_events

ENGINEERING = ("1000", "1300", "1301", "1302", "1303", "1313")
QUESTION = "Which customers were affected by the duplicate payment run, and by how much?"
POSTMORTEM = "Postmortem: Duplicate Payment Run"
SECRET_TEXT = ("Halvorsen", "Brightwater", "4.82 million", POSTMORTEM)
SECRET_WORDS = (*SECRET_TEXT, "1313")
"""The page's text and title, and its id (analytics may carry ids, never text)."""
PEOPLE = {
    "WTOM": "tom.okafor@larkspur.example",  # in group engineering
    "WPRIYA": "priya.raman@larkspur.example",  # named on the restriction
    "WLIAM": "liam.doyle@larkspur.example",  # neither
    "WGUEST": "guest@elsewhere.example",  # no Confluence account
}


@pytest.fixture(scope="module")
def synced_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("permissions")
    home = root / "kb-home"
    run_sync(
        load_settings(kb_home=home),
        source=FolderPageSource(copy_sample_space(root / "eng", only=ENGINEERING)),
    )
    return home


@pytest.fixture
def slack(synced_home: Path, kb_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandin]:
    shutil.copytree(synced_home, kb_home)
    with SlackStandin() as standin:
        for user_id, email in PEOPLE.items():
            standin.add_user(user_id, email)
        point_settings_at(standin, monkeypatch, signing_secret="secret")
        yield standin


@pytest.fixture
def service(slack: SlackStandin) -> AnswerService:
    settings = get_settings()
    return build_answer_service(settings, build_store(settings))


def _ask(user: str, *, where: str, event_id: str = "Ev1") -> Question:
    if where == "im":
        payload: dict[str, Any] = json.loads(
            (FIXTURES / "bolt-python__event_callback__message_im.json").read_text()
        )
        payload["event"].update(user=user, text=QUESTION, thread_ts=None)
    else:
        payload = json.loads((FIXTURES / "bolt-python__event_callback__app_mention.json").read_text())
        payload["event"].update(user=user, text=f"<@W111> {QUESTION}")
    payload["event_id"] = event_id
    question = parse_event(json.dumps(payload).encode())
    assert isinstance(question, Question)
    return question


def _posted(slack: SlackStandin) -> str:
    [posted] = slack.calls_to("chat.postMessage")
    return json.dumps(posted.args, ensure_ascii=False)


def test_an_engineer_asking_in_a_dm_is_answered_from_the_restricted_postmortem(
    service: AnswerService, slack: SlackStandin
) -> None:
    outcome = service.answer(_ask("WTOM", where="im"))

    assert outcome.status == "answered"
    assert POSTMORTEM in _posted(slack)


def test_a_person_named_on_the_restriction_is_answered_from_it(
    service: AnswerService, slack: SlackStandin
) -> None:
    service.answer(_ask("WPRIYA", where="im"))

    assert POSTMORTEM in _posted(slack)


def test_someone_the_restriction_leaves_out_learns_nothing_of_the_page(
    service: AnswerService, slack: SlackStandin
) -> None:
    service.answer(_ask("WLIAM", where="im"))

    every_call = json.dumps([call.args for call in slack.calls], ensure_ascii=False)
    assert not [word for word in SECRET_WORDS if word in every_call]


def test_in_a_channel_nobody_sees_the_restricted_page_not_even_an_engineer(
    service: AnswerService, slack: SlackStandin
) -> None:
    service.answer(_ask("WTOM", where="channel"))

    posted = _posted(slack)
    assert not [word for word in SECRET_WORDS if word in posted]


def test_someone_without_a_confluence_account_is_told_why_they_see_only_open_pages(
    service: AnswerService, slack: SlackStandin
) -> None:
    service.answer(_ask("WGUEST", where="im"))

    posted = _posted(slack)
    assert "I don't know your Confluence account yet" in posted
    assert not [word for word in SECRET_WORDS if word in posted]


def test_the_bot_response_event_records_that_restricted_content_was_used_and_nothing_of_it(
    service: AnswerService, slack: SlackStandin, kb_home: Path
) -> None:
    service.answer(_ask("WTOM", where="im"))

    records = spooled_events(kb_home)
    [response] = [r for r in records if r["kind"] == "bot_response"]
    assert response["used_restricted"] is True
    assert not [word for word in SECRET_TEXT if word in json.dumps(records)]


def test_a_link_made_by_email_is_recorded_once_with_its_method(
    service: AnswerService, slack: SlackStandin, kb_home: Path
) -> None:
    service.answer(_ask("WTOM", where="im", event_id="Ev1"))
    service.answer(_ask("WTOM", where="im", event_id="Ev2"))

    records = spooled_events(kb_home)
    links = [r for r in records if r["kind"] == "user_confluence_link"]
    assert [(r["slack_user_id"], r["confluence_account_id"], r["method"], r["action"]) for r in links] == [
        ("WTOM", "557058:tom", "email", "linked")
    ]


def _repeating_every_passage(user_message: str) -> dict[str, Any]:
    """An LLM that repeats all it was given, citing each passage: what it streams is exactly what the
    search let through."""
    passages = user_message.split("Passages:\n\n", 1)[1].split("\n\nQuestion:", 1)[0]
    numbers = [int(n) for n in re.findall(r"^\[(\d+)\] ", passages, flags=re.MULTILINE)]
    return {"grounded": True, "answer": passages.replace("\n", " "), "cited": numbers}


@pytest.fixture
def streaming_service(slack: SlackStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[AnswerService]:
    with LlmStandin() as llm:
        for _ in range(4):
            llm.reply(Scripted(respond=_repeating_every_passage, piece_chars=40))
        monkeypatch.setenv("LLM_API_URL", llm.url)
        monkeypatch.setenv("LLM_API_KEY", "sk-test")
        get_settings.cache_clear()
        settings = get_settings()
        yield build_answer_service(settings, build_store(settings))


def _streamed(slack: SlackStandin) -> str:
    """Every call that carried an answer's words or sources into Slack."""
    calls = [call.args for call in slack.calls if call.method.startswith("chat.")]
    assert slack.calls_to("chat.stopStream"), "the answer was not streamed"
    return json.dumps(calls, ensure_ascii=False)


def test_a_streamed_answer_to_an_engineer_in_a_dm_holds_the_restricted_postmortem(
    streaming_service: AnswerService, slack: SlackStandin
) -> None:
    streaming_service.answer(_ask("WTOM", where="im"))

    assert POSTMORTEM in _streamed(slack)


def test_a_streamed_answer_in_a_channel_shows_nothing_of_the_restricted_page_at_any_point(
    streaming_service: AnswerService, slack: SlackStandin
) -> None:
    streaming_service.answer(_ask("WTOM", where="channel"))

    streamed = _streamed(slack)
    assert not [word for word in SECRET_WORDS if word in streamed]


def test_a_streamed_answer_to_someone_the_restriction_leaves_out_shows_nothing_of_the_page(
    streaming_service: AnswerService, slack: SlackStandin
) -> None:
    streaming_service.answer(_ask("WLIAM", where="im"))

    every_call = json.dumps([call.args for call in slack.calls], ensure_ascii=False)
    assert slack.calls_to("chat.stopStream")
    assert not [word for word in SECRET_WORDS if word in every_call]
