"""Which Events API deliveries are questions, parsed from the real fixtures in ../shared/fixtures/slack."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from common.errors import InvalidInteraction
from common.slack.questions import Challenge, Ignored, Question, parse_event
from tests.support.slack_payloads import SLACK_FIXTURES as FIXTURES


def _fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def _parse(payload: dict[str, Any]) -> Challenge | Ignored | Question:
    return parse_event(json.dumps(payload).encode())


def test_url_verification_echoes_the_challenge() -> None:
    parsed = _parse(_fixture("bolt-python__url_verification.json"))

    assert parsed == Challenge("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")


def test_an_app_mention_is_a_question_without_the_mention() -> None:
    parsed = _parse(_fixture("bolt-python__event_callback__app_mention.json"))

    assert isinstance(parsed, Question)
    assert (parsed.text, parsed.channel, parsed.channel_type) == ("Hi there!", "C111", "channel")
    assert parsed.thread_ts == parsed.ts == "1595926230.009600"
    assert parsed.event_id == "Ev111" and not parsed.is_follow_up


def test_a_direct_message_is_a_question_answered_in_its_thread() -> None:
    parsed = _parse(_fixture("bolt-python__event_callback__message_im.json"))

    assert isinstance(parsed, Question)
    assert parsed.channel_type == "im"
    assert parsed.thread_ts == "1726133698.626339"
    assert not parsed.is_follow_up


def test_a_plain_channel_message_is_not_for_the_bot() -> None:
    assert isinstance(_parse(_fixture("bolt-python__event_callback__message_channel.json")), Ignored)


def test_a_reply_in_a_channel_thread_is_a_possible_follow_up() -> None:
    payload = _fixture("bolt-python__event_callback__message_channel.json")
    payload["event"].update(thread_ts="1595926000.000100", text="And from a hotel?")

    parsed = _parse(payload)

    assert isinstance(parsed, Question) and parsed.is_follow_up


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"bot_id": "B999"}, "bot"),
        ({"subtype": "message_changed"}, "subtype"),
        ({"subtype": "channel_join"}, "subtype"),
        ({"user": "W111"}, "own message"),
        ({"text": "<@W111>"}, "empty"),
    ],
)
def test_bots_edits_joins_own_and_empty_messages_are_ignored(change: dict[str, str], reason: str) -> None:
    payload = copy.deepcopy(_fixture("bolt-python__event_callback__message_im.json"))
    payload["event"].update(change)

    parsed = _parse(payload)

    assert isinstance(parsed, Ignored) and reason in parsed.reason


def test_a_body_that_is_not_json_is_refused() -> None:
    with pytest.raises(InvalidInteraction, match="not JSON"):
        parse_event(b"<html>")


def test_a_question_survives_the_queue() -> None:
    question = _parse(_fixture("bolt-python__event_callback__app_mention.json"))
    assert isinstance(question, Question)

    assert Question.from_json(question.to_json()) == question
