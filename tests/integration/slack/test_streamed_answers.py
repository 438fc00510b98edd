"""Answers written by an LLM stream into their thread (`chat.startStream`, `appendStream`, `stopStream`) and
end as a posted answer does, with sources and buttons; Slack's assistant view gets suggested prompts, a
status while the bot searches, and the answer in its own thread. Driven through the signed events webhook,
against the Slack and chat-completions stand-ins (their real wire formats)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.config import get_settings
from common.errors import ServiceUnavailable
from common.slack.answer_stream import BROKEN_OFF
from common.slack.answering import SORRY, WORKING_REACTION, WORKING_STATUS
from common.slack.questions import Question, parse_event
from common.slack.suggested_prompts import TITLE
from tests.support.llm_standin import LlmStandin, Scripted
from tests.support.slack_bot import Bot
from tests.support.slack_payloads import assistant_question, assistant_thread_event, direct_message, mention
from tests.support.slack_standin import SlackStandin, point_settings_at

SECRET = "streaming-secret"
QUESTION = "How do I connect to the VPN from home?"
MENTION_TS = "1595926230.009600"
"""The fixture's app_mention ts: the thread its answer goes to."""
DM = "D111"
THREAD = "1700000000.000100"


def _answer_from(user_message: str) -> dict[str, Any]:
    """An LLM that answers with the first sentence of passage 1 and cites it: its text is always one that a
    reader of that passage may see."""
    passage = user_message.split("[1] ", 1)[1].split("\n", 1)[1]
    first = re.split(r"(?<=[.!?])\s", passage.strip(), maxsplit=1)[0]
    return {"grounded": True, "answer": f"{first} [1]", "cited": [1]}


@pytest.fixture
def llm() -> Iterator[LlmStandin]:
    with LlmStandin() as standin:
        yield standin


@pytest.fixture
def slack(
    it_synced_home: Path, kb_home: Path, llm: LlmStandin, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SlackStandin]:
    shutil.copytree(it_synced_home, kb_home)
    with SlackStandin() as standin:
        monkeypatch.setenv("LLM_API_URL", llm.url)
        monkeypatch.setenv("LLM_API_KEY", "sk-test")
        monkeypatch.setenv("LLM_MODEL", "test-model")
        monkeypatch.setenv("SLACK_STREAM_BUFFER_CHARS", "16")
        point_settings_at(standin, monkeypatch, signing_secret=SECRET)
        yield standin


@pytest.fixture
def bot(slack: SlackStandin) -> Bot:
    return Bot(secret=SECRET)


def _streams_with(llm: LlmStandin, **options: Any) -> None:
    llm.reply(Scripted(respond=_answer_from, piece_chars=5, **options))


def _finished(slack: SlackStandin, channel: str) -> tuple[dict[str, Any], str]:
    """The one streamed message in `channel`, and the text it showed."""
    [_] = slack.calls_to("chat.startStream")
    [stop] = slack.calls_to("chat.stopStream")
    ts = str(stop.args["ts"])
    return slack.message(channel, ts), slack.streamed_text(channel, ts)


def _question(payload: dict[str, Any]) -> Question:
    parsed = parse_event(json.dumps(payload).encode())
    assert isinstance(parsed, Question)
    return parsed


def test_an_llm_answer_streams_into_the_thread_and_ends_with_sources_and_buttons(
    bot: Bot, slack: SlackStandin, llm: LlmStandin
) -> None:
    _streams_with(llm)

    assert bot.send(mention("EvS1", QUESTION, ts=MENTION_TS)) == 200

    message, shown = _finished(slack, "C111")
    [start] = slack.calls_to("chat.startStream")
    assert start.args["thread_ts"] == MENTION_TS
    assert start.args["recipient_user_id"] == "W222" and start.args["recipient_team_id"]
    assert len(slack.calls_to("chat.appendStream")) >= 1  # the text came in pieces
    assert shown.endswith("[1]") and "vpn.larkspur.example" in shown.lower()
    blocks = json.dumps(message["blocks"], ensure_ascii=False)
    assert message["streaming_state"] == "completed"
    assert "*Sources*" in blocks and "VPN" in blocks and "kb_vote_helpful" in blocks
    assert slack.calls_to("chat.postMessage") == []


def test_the_streamed_answer_can_be_voted_on_like_a_posted_one(
    bot: Bot, slack: SlackStandin, llm: LlmStandin
) -> None:
    _streams_with(llm)
    bot.send(mention("EvS2", QUESTION, ts=MENTION_TS))

    message, _ = _finished(slack, "C111")
    [button] = [
        element
        for block in message["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == "kb_vote_helpful"
    ]
    assert button["value"]  # the answer id the vote is recorded against


def test_a_question_outside_the_assistant_view_shows_the_eyes_and_no_status(
    bot: Bot, slack: SlackStandin, llm: LlmStandin
) -> None:
    _streams_with(llm)
    bot.send(mention("EvS3", QUESTION, ts=MENTION_TS))

    assert [call.args["name"] for call in slack.calls_to("reactions.add")] == [WORKING_REACTION]
    assert [call.args["name"] for call in slack.calls_to("reactions.remove")] == [WORKING_REACTION]
    assert slack.calls_to("assistant.threads.setStatus") == []


def test_a_new_assistant_thread_is_offered_the_configured_prompts(bot: Bot, slack: SlackStandin) -> None:
    assert bot.send(assistant_thread_event("EvT1", thread_ts=THREAD)) == 200

    offered = slack.suggested_prompts[(DM, THREAD)]
    assert offered["title"] == TITLE
    assert [prompt["message"] for prompt in offered["prompts"]] == get_settings().suggested_prompts
    assert slack.calls_to("chat.startStream") == [] and slack.calls_to("chat.postMessage") == []


def test_a_refused_prompts_call_still_acknowledges_the_new_thread(bot: Bot, slack: SlackStandin) -> None:
    slack.fail_next("assistant.threads.setSuggestedPrompts", status=429, retry_after=30)

    assert bot.send(assistant_thread_event("EvT2", thread_ts=THREAD)) == 200
    assert (DM, THREAD) not in slack.suggested_prompts


def test_a_question_in_an_assistant_thread_gets_a_status_then_its_answer_in_that_thread(
    bot: Bot, slack: SlackStandin, llm: LlmStandin
) -> None:
    _streams_with(llm)

    assert bot.send(assistant_question("EvA1", QUESTION, thread_ts=THREAD, ts="1700000000.000200")) == 200

    [status] = slack.calls_to("assistant.threads.setStatus")
    assert status.args == {"channel_id": DM, "thread_ts": THREAD, "status": WORKING_STATUS}
    assert slack.thread_titles[(DM, THREAD)] == QUESTION
    [start] = slack.calls_to("chat.startStream")
    assert start.args["channel"] == DM and start.args["thread_ts"] == THREAD
    assert (DM, THREAD) not in slack.thread_status  # cleared by the reply, as Slack does
    assert slack.calls_to("reactions.add") == []
    _, shown = _finished(slack, DM)
    assert shown.endswith("[1]")


def test_a_second_question_in_an_assistant_thread_keeps_the_thread_title(
    bot: Bot, slack: SlackStandin, llm: LlmStandin
) -> None:
    _streams_with(llm)
    _streams_with(llm)
    bot.send(assistant_question("EvA2", QUESTION, thread_ts=THREAD, ts="1700000000.000200"))
    bot.send(assistant_question("EvA3", "And from a hotel?", thread_ts=THREAD, ts="1700000000.000300"))

    assert [call.args["title"] for call in slack.calls_to("assistant.threads.setTitle")] == [QUESTION]
    assert len(slack.calls_to("chat.stopStream")) == 2


def test_a_direct_message_that_starts_no_thread_streams_as_well(
    bot: Bot, slack: SlackStandin, llm: LlmStandin
) -> None:
    _streams_with(llm)
    bot.send(direct_message("EvD1", QUESTION, ts="1700000001.000100"))

    [start] = slack.calls_to("chat.startStream")
    assert start.args["thread_ts"] == "1700000001.000100"
    assert slack.calls_to("assistant.threads.setStatus") == []


def test_rate_limited_appends_delay_the_words_and_lose_none(
    bot: Bot, slack: SlackStandin, llm: LlmStandin
) -> None:
    _streams_with(llm)
    slack.fail_next("chat.appendStream", status=429, retry_after=0, times=10)

    bot.send(mention("EvS4", QUESTION, ts=MENTION_TS))

    message, shown = _finished(slack, "C111")
    whole = _answer_from(llm.requests[0]["messages"][-1]["content"])["answer"]
    assert shown == whole
    assert message["streaming_state"] == "completed" and "kb_vote_helpful" in json.dumps(message["blocks"])


def test_the_llm_breaking_off_mid_answer_ends_the_message_with_the_pages_own_words(
    bot: Bot, slack: SlackStandin, llm: LlmStandin
) -> None:
    _streams_with(llm, cut_after=12)

    bot.send(mention("EvS5", QUESTION, ts=MENTION_TS))

    message, shown = _finished(slack, "C111")
    assert shown.endswith(BROKEN_OFF)
    blocks = json.dumps(message["blocks"], ensure_ascii=False)
    assert "vpn.larkspur.example" in blocks.lower()  # the extractive answer, from the same passages
    assert "*Sources*" in blocks and "kb_vote_helpful" in blocks


def test_the_llm_failing_before_its_first_word_opens_no_stream_and_the_last_attempt_apologises(
    bot: Bot, slack: SlackStandin, llm: LlmStandin
) -> None:
    for _ in range(4):
        llm.reply(Scripted(status=500))

    bot.send(mention("EvS6", QUESTION, ts=MENTION_TS))

    assert slack.calls_to("chat.startStream") == []
    [posted] = slack.calls_to("chat.postMessage")
    assert posted.args["thread_ts"] == MENTION_TS and posted.args["text"] == SORRY


def test_streaming_not_available_to_the_app_posts_the_answer_whole(
    bot: Bot, slack: SlackStandin, llm: LlmStandin
) -> None:
    _streams_with(llm)
    slack.fail_next("chat.startStream", status=200, error="not_allowed_token_type")

    bot.send(mention("EvS7", QUESTION, ts=MENTION_TS))

    [posted] = slack.calls_to("chat.postMessage")
    assert posted.args["thread_ts"] == MENTION_TS
    assert "[1]" in posted.args["text"]
    assert "kb_vote_helpful" in json.dumps(posted.args["blocks"])
    assert slack.calls_to("chat.stopStream") == []


def test_slack_rate_limiting_the_start_for_good_leaves_the_question_to_be_delivered_again(
    bot: Bot, slack: SlackStandin, llm: LlmStandin
) -> None:
    _streams_with(llm)
    slack.fail_next("chat.startStream", status=429, retry_after=0, times=3)

    with pytest.raises(ServiceUnavailable):
        bot.service.answer(_question(mention("EvS8", QUESTION, ts=MENTION_TS)), last_attempt=False)

    assert slack.calls_to("chat.postMessage") == []
    assert slack.calls_to("chat.stopStream") == []
    assert [call.args["name"] for call in slack.calls_to("reactions.remove")] == [WORKING_REACTION]
