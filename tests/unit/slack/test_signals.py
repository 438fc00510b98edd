"""Telling thanks, complaints and follow-ups apart, and which reactions say something about an answer."""

from __future__ import annotations

import json

import pytest

from common.errors import InvalidInteraction
from common.slack.questions import Ignored, parse_event
from common.slack.signals import Reaction, answers_reply, classify_reply
from tests.support.slack_payloads import reaction


@pytest.mark.parametrize(
    "text",
    [
        "Thanks!",
        "thank you, that worked",
        "perfect 🙏",
        "Got it, cheers",
        "That\u2019s exactly what I needed",
    ],
)
def test_short_thanks_is_gratitude(text: str) -> None:
    assert classify_reply(text) == "gratitude"


@pytest.mark.parametrize(
    "text",
    [
        "That's wrong.",
        "This is outdated, the portal moved",
        "That didn\u2019t help at all",
        "not what I asked",
        "Nope",
        "still doesn't work",
    ],
)
def test_complaints_are_frustration(text: str) -> None:
    assert classify_reply(text) == "frustration"


@pytest.mark.parametrize(
    "text",
    ["And from a hotel?", "what about contractors", "Thanks! How do I do that on a Mac?", "ok, next step"],
)
def test_questions_and_other_talk_are_follow_ups(text: str) -> None:
    assert classify_reply(text) == "follow_up"


def test_only_complaints_that_ask_something_and_follow_ups_are_answered() -> None:
    assert not answers_reply("gratitude", "thanks")
    assert not answers_reply("frustration", "that's wrong")
    assert answers_reply("frustration", "that's wrong, where is the real form?")
    assert answers_reply("follow_up", "and on a Mac?")


def test_a_reaction_is_parsed_without_its_skin_tone() -> None:
    parsed = parse_event(json.dumps(reaction("EvR1", "+1::skin-tone-2", item_ts="1.2")).encode())

    assert isinstance(parsed, Reaction)
    assert (parsed.name, parsed.signal, parsed.channel, parsed.ts) == (
        "+1",
        "reaction_positive",
        "C111",
        "1.2",
    )


def test_a_reaction_on_a_file_is_ignored() -> None:
    payload = reaction("EvR1", "+1", item_ts="1.2")
    payload["event"]["item"] = {"type": "file", "file": "F111"}

    assert isinstance(parse_event(json.dumps(payload).encode()), Ignored)


def test_a_reaction_without_a_message_ts_is_refused() -> None:
    payload = reaction("EvR1", "+1", item_ts="1.2")
    del payload["event"]["item"]["ts"]

    with pytest.raises(InvalidInteraction, match="ts"):
        parse_event(json.dumps(payload).encode())


def test_a_reaction_by_the_bot_itself_is_ignored() -> None:
    payload = reaction("EvR1", "eyes", item_ts="1.2", user="UBOT")
    payload["authorizations"] = [{"user_id": "UBOT", "is_bot": True}]

    assert isinstance(parse_event(json.dumps(payload).encode()), Ignored)


def test_unknown_reactions_are_no_signal() -> None:
    parsed = parse_event(json.dumps(reaction("EvR1", "coffee", item_ts="1.2")).encode())

    assert isinstance(parsed, Reaction) and parsed.signal is None
