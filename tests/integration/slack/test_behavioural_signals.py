"""What people do around an answer becomes `behavioural_signal` events with the answer and its cited chunks:
reactions, replies in its thread, and asking again in other words. Signed events go through the real
webhook (`kb serve`'s wiring), the answer through the real service on the synced sample space, and Slack is
the HTTP stand-in."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from common.config import get_settings
from common.infra.blob_store import GcsBlobStore
from common.infra.record_files import BucketRecordFiles
from common.runtime.publishing import build_publisher
from common.slack.answer_registry import AnswerRegistry
from common.slack.questions import Question
from common.slack.signal_recorder import SignalRecorder
from common.slack.webhook import EventsWebhook
from tests.support.chroma_server import free_port
from tests.support.runs import run_analytics_ingest
from tests.support.slack_bot import Bot
from tests.support.slack_payloads import mention, reaction, thread_reply
from tests.support.slack_signing import sign
from tests.support.slack_standin import SlackStandin, point_settings_at
from tests.support.spool import spooled_events

SECRET = "signals-secret"
QUESTION_TS = "1595926230.009600"


@pytest.fixture
def slack(it_synced_home: Path, kb_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandin]:
    shutil.copytree(it_synced_home, kb_home)
    with SlackStandin() as standin:
        point_settings_at(standin, monkeypatch, signing_secret=SECRET)
        yield standin


@pytest.fixture
def bot(slack: SlackStandin) -> Bot:
    return Bot(secret=SECRET)


def _answered(bot: Bot, slack: SlackStandin, *, event_id: str = "EvQ1", ts: str = QUESTION_TS) -> str:
    """Ask the VPN question; returns the ts of the bot's answer message."""
    assert bot.send(mention(event_id, "How do I connect to the VPN from home?", ts=ts)) == 200
    return slack.posted_ts("C111")[-1]


def _signals(kb_home: Path) -> list[dict[str, Any]]:
    return [e for e in spooled_events(kb_home) if e["kind"] == "behavioural_signal"]


def _answer(kb_home: Path) -> dict[str, Any]:
    [answer] = [e for e in spooled_events(kb_home) if e["kind"] == "bot_response"]
    return answer


def test_a_thumbs_up_on_an_answer_is_a_positive_signal_with_its_answer_and_cited_chunks(
    bot: Bot, slack: SlackStandin, kb_home: Path
) -> None:
    answer_ts = _answered(bot, slack)

    assert bot.send(reaction("EvR1", "+1::skin-tone-3", item_ts=answer_ts)) == 200

    [signal] = _signals(kb_home)
    answer = _answer(kb_home)
    assert signal["signal"] == "reaction_positive" and signal["detail"] == "positive:+1"
    assert signal["answer_id"] == answer["answer_id"]
    assert signal["chunk_ids"] == answer["cited_chunk_ids"] and signal["chunk_ids"]


def test_a_thumbs_down_is_negative_and_taking_it_back_is_recorded(
    bot: Bot, slack: SlackStandin, kb_home: Path
) -> None:
    answer_ts = _answered(bot, slack)

    bot.send(reaction("EvR1", "-1", item_ts=answer_ts))
    bot.send(reaction("EvR2", "-1", item_ts=answer_ts, added=False))

    assert [(s["signal"], s["detail"]) for s in _signals(kb_home)] == [
        ("reaction_negative", "negative:-1"),
        ("reaction_removed", "negative:-1"),
    ]


def test_a_reaction_slack_delivers_twice_lands_once_in_analytics(
    bot: Bot, slack: SlackStandin, kb_home: Path
) -> None:
    answer_ts = _answered(bot, slack)
    bot.send(reaction("EvR1", "tada", item_ts=answer_ts))
    bot.send(reaction("EvR1", "tada", item_ts=answer_ts))

    run_analytics_ingest(get_settings())

    from common.analytics.query import query
    from common.runtime.events import build_period_files

    files = build_period_files(get_settings())
    copies = files.local_copies(kb_home / "read")
    rows = query(copies, "SELECT signal, count(*) FROM behavioral_signals GROUP BY 1").rows
    assert rows == [("reaction_positive", 1)]


def test_reactions_that_say_nothing_or_are_not_on_an_answer_are_no_signal(
    bot: Bot, slack: SlackStandin, kb_home: Path
) -> None:
    _answered(bot, slack)

    bot.send(reaction("EvR1", "+1", item_ts=QUESTION_TS))
    bot.send(reaction("EvR2", "coffee", item_ts=QUESTION_TS))

    assert _signals(kb_home) == []


def test_thanks_in_the_thread_is_gratitude_and_gets_no_answer(
    bot: Bot, slack: SlackStandin, kb_home: Path
) -> None:
    _answered(bot, slack)

    bot.send(thread_reply("EvT1", "Thanks, that worked!", thread_ts=QUESTION_TS, ts="1595926300.000100"))

    assert [s["signal"] for s in _signals(kb_home)] == ["gratitude"]
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_complaint_in_the_thread_is_frustration_and_is_answered_only_when_it_asks(
    bot: Bot, slack: SlackStandin, kb_home: Path
) -> None:
    _answered(bot, slack)

    bot.send(thread_reply("EvT1", "That's not what I asked.", thread_ts=QUESTION_TS, ts="1595926300.000100"))
    bot.send(
        thread_reply(
            "EvT2",
            "That's wrong, which VPN client should I use?",
            thread_ts=QUESTION_TS,
            ts="1595926301.0001",
        )
    )

    assert [s["signal"] for s in _signals(kb_home)] == ["frustration", "frustration"]
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_a_question_in_the_thread_is_a_follow_up_and_is_answered(
    bot: Bot, slack: SlackStandin, kb_home: Path
) -> None:
    _answered(bot, slack)

    bot.send(
        thread_reply("EvT1", "And what if I am in the office?", thread_ts=QUESTION_TS, ts="1595926300.000100")
    )

    assert [s["signal"] for s in _signals(kb_home)][:1] == ["follow_up"]
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_asking_the_same_thing_again_in_other_words_soon_after_rephrases_the_first_answer(
    bot: Bot, slack: SlackStandin, kb_home: Path
) -> None:
    _answered(bot, slack)
    first = _answer(kb_home)

    bot.send(mention("EvQ2", "how can I use the VPN when working from home", ts="1595926400.000100"))

    [signal] = _signals(kb_home)
    assert signal["signal"] == "rephrase" and signal["answer_id"] == first["answer_id"]


def test_a_different_question_from_the_same_person_is_no_rephrasing(
    bot: Bot, slack: SlackStandin, kb_home: Path
) -> None:
    _answered(bot, slack)

    bot.send(mention("EvQ2", "How do I reset my laptop password?", ts="1595926400.000100"))

    assert _signals(kb_home) == []


class _Queued:
    def __init__(self) -> None:
        self.questions: list[Question] = []

    def submit(self, question: Question) -> None:
        self.questions.append(question)


def _webhook_whose_registry_is_down(queue: _Queued) -> EventsWebhook:
    """The answer registry in a bucket nobody answers for (GCS down): which answer a reaction or a reply is
    about cannot be known."""
    blobs = GcsBlobStore.connect(
        bucket="kb-down", endpoint=f"http://127.0.0.1:{free_port()}", project="local", retry_seconds=0.5
    )
    registry = AnswerRegistry(BucketRecordFiles(blobs, prefix="answers/"))
    return EventsWebhook(
        signing_secret=SECRET,
        queue=queue,
        signals=SignalRecorder(registry=registry, publisher=build_publisher(get_settings())),
    )


def _deliver(webhook: EventsWebhook, payload: dict[str, Any]) -> int:
    body = json.dumps(payload).encode()
    return webhook.handle(
        body=body, headers={"Content-Type": "application/json", **sign(body, secret=SECRET)}
    ).status


def test_a_reaction_whose_answer_cannot_be_looked_up_is_refused_for_slack_to_deliver_again(
    slack: SlackStandin, kb_home: Path
) -> None:
    webhook = _webhook_whose_registry_is_down(_Queued())

    status = _deliver(webhook, reaction("EvR9", "+1", item_ts="1595926230.009700"))

    assert status == 503
    assert _signals(kb_home) == []


def test_a_thread_reply_whose_answer_cannot_be_looked_up_is_still_answered_and_the_lost_signal_logged(
    slack: SlackStandin,
) -> None:
    queue = _Queued()
    webhook = _webhook_whose_registry_is_down(queue)

    with capture_logs() as logs:
        status = _deliver(
            webhook, thread_reply("EvT9", "thanks!", thread_ts=QUESTION_TS, ts="1595926240.0001")
        )

    assert status == 200
    assert [question.event_id for question in queue.questions] == ["EvT9"]
    assert [log["event_id"] for log in logs if log["event"] == "reply_signal_not_recorded"] == ["EvT9"]
