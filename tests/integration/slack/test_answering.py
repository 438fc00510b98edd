"""Answering questions in Slack with the embedded defaults (`kb serve`'s path): the webhook hands the question
to the answer service in process; a Slack Web API stand-in records what the bot posted."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from common.config import get_settings
from common.errors import ServiceUnavailable
from common.runtime.slack import build_answer_service
from common.runtime.store import build_store
from common.slack.answering import SORRY, AnswerService
from common.slack.push_worker import handle_push
from common.slack.question_queue import InProcessQuestionQueue
from common.slack.questions import Question, parse_event
from common.slack.webhook import EventsWebhook
from tests.support.chroma_server import free_port
from tests.support.slack_payloads import SLACK_FIXTURES as FIXTURES
from tests.support.slack_signing import sign
from tests.support.slack_standin import SlackStandin, point_settings_at

SECRET = "answering-secret"
VPN_QUESTION = "<@W111> How do I connect to the VPN from home?"


@pytest.fixture
def slack(it_synced_home: Path, kb_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandin]:
    shutil.copytree(it_synced_home, kb_home)
    with SlackStandin() as standin:
        point_settings_at(standin, monkeypatch, signing_secret=SECRET)
        yield standin


@pytest.fixture
def service(slack: SlackStandin) -> AnswerService:
    settings = get_settings()
    return build_answer_service(settings, build_store(settings))


def _event(name: str, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    payload["event"].update(changes)
    return payload


def _mention(text: str = VPN_QUESTION, *, event_id: str = "Ev111", **changes: Any) -> dict[str, Any]:
    payload = _event("bolt-python__event_callback__app_mention.json", text=text, **changes)
    payload["event_id"] = event_id
    return payload


def _question(payload: dict[str, Any]) -> Question:
    parsed = parse_event(json.dumps(payload).encode())
    assert isinstance(parsed, Question)
    return parsed


def test_a_mention_gets_one_threaded_answer_with_sources_and_buttons(
    service: AnswerService, slack: SlackStandin
) -> None:
    outcome = service.answer(_question(_mention()))

    [posted] = slack.calls_to("chat.postMessage")
    assert outcome.status == "answered"
    assert posted.args["thread_ts"] == "1595926230.009600" and posted.args["channel"] == "C111"
    blocks = json.dumps(posted.args["blocks"], ensure_ascii=False)
    assert "vpn.larkspur.example" in posted.args["text"]
    assert "VPN Setup" in blocks and "kb_vote_helpful" in blocks
    assert "*[1]*" in blocks and "[1]" in posted.args["blocks"][0]["text"]["text"]


def test_the_eyes_come_and_go_while_answering(service: AnswerService, slack: SlackStandin) -> None:
    service.answer(_question(_mention()))

    assert [c.method for c in slack.calls if c.method.startswith("reactions.")] == [
        "reactions.add",
        "reactions.remove",
    ]
    assert slack.calls_to("reactions.add")[0].args["name"] == "eyes"


def test_the_same_event_twice_is_answered_once(service: AnswerService, slack: SlackStandin) -> None:
    first = service.answer(_question(_mention()))
    second = service.answer(_question(_mention()))

    assert (first.status, second.status) == ("answered", "duplicate")
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_question_the_knowledge_base_cannot_answer_says_so_and_names_owners(
    service: AnswerService, slack: SlackStandin
) -> None:
    outcome = service.answer(_question(_mention("<@W111> What will the weather be like on Mars next week?")))

    [posted] = slack.calls_to("chat.postMessage")
    assert outcome.status == "not_found"
    assert "could not find" in posted.args["text"]
    blocks = json.dumps(posted.args["blocks"])
    assert "owners of the closest topics" in blocks and "@larkspur.example (HB)" in blocks
    assert "kb_vote_helpful" not in blocks


def test_a_follow_up_in_a_thread_the_bot_never_answered_is_left_alone(
    service: AnswerService, slack: SlackStandin
) -> None:
    slack.add_thread_message(
        "C111", "1595926000.000100", "Lunch?", user="W333", thread_ts="1595926000.000100"
    )
    payload = _event("bolt-python__event_callback__message_channel.json", thread_ts="1595926000.000100")

    outcome = service.answer(_question(payload))

    assert outcome.status == "not_for_us"
    assert slack.calls_to("chat.postMessage") == []


def _service_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> AnswerService:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    settings = get_settings()
    return build_answer_service(settings, build_store(settings))


def test_channels_outside_the_allow_list_get_no_answer(
    slack: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service_with(monkeypatch, SLACK_CHANNELS="C999")

    assert service.answer(_question(_mention())).status == "not_for_us"
    assert slack.calls_to("chat.postMessage") == []


def test_an_outage_on_the_last_attempt_is_told_to_the_asker_in_plain_words(
    slack: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service_with(monkeypatch, CHROMA_URL=f"http://127.0.0.1:{free_port()}", CHROMA_RETRIES="0")

    outcome = service.answer(_question(_mention()), last_attempt=True)

    assert outcome.status == "failed"
    assert slack.calls_to("chat.postMessage")[0].args["text"] == SORRY
    assert slack.calls_to("reactions.remove")


def test_an_outage_before_the_last_attempt_is_raised_for_redelivery_and_releases_the_claim(
    slack: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service_with(monkeypatch, CHROMA_URL=f"http://127.0.0.1:{free_port()}", CHROMA_RETRIES="0")

    with pytest.raises(ServiceUnavailable):
        service.answer(_question(_mention()), last_attempt=False)

    assert slack.calls_to("chat.postMessage") == []
    monkeypatch.delenv("CHROMA_URL")
    retry = _service_with(monkeypatch)
    assert retry.answer(_question(_mention())).status == "answered"


def test_slack_rate_limits_are_waited_out(service: AnswerService, slack: SlackStandin) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=0)

    outcome = service.answer(_question(_mention()))

    assert outcome.status == "answered"
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_the_webhook_hands_a_signed_mention_to_the_service_and_acknowledges(
    service: AnswerService, slack: SlackStandin
) -> None:
    queue = InProcessQuestionQueue(service.answer)
    webhook = EventsWebhook(signing_secret=SECRET, queue=queue)
    body = json.dumps(_mention()).encode()

    reply = webhook.handle(body=body, headers=sign(body, secret=SECRET))
    retry = webhook.handle(body=body, headers={**sign(body, secret=SECRET), "X-Slack-Retry-Num": "1"})
    queue.drain()

    assert (reply.status, retry.status) == (200, 200)
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_follow_up_in_a_thread_the_bot_answered_is_answered_with_its_context(
    service: AnswerService, slack: SlackStandin
) -> None:
    service.answer(_question(_mention()))
    root = "1595926230.009600"
    payload = _event(
        "bolt-python__event_callback__message_channel.json",
        thread_ts=root,
        ts="1595926300.000200",
        text="And what if I am in the office?",
        channel="C111",
    )
    payload["event_id"] = "Ev222"

    outcome = service.answer(_question(payload))

    assert outcome.status == "answered"
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert slack.calls_to("chat.postMessage")[1].args["thread_ts"] == root


def test_kb_serve_answers_slack_and_search_on_one_port(slack: SlackStandin) -> None:
    from common.cli.serve import create_local_app

    app, queue = create_local_app(get_settings())
    client = app.test_client()
    body = json.dumps(_mention()).encode()

    events = client.post(
        "/slack/events", data=body, headers={"Content-Type": "application/json", **sign(body, secret=SECRET)}
    )
    search = client.post("/search", json={"query": "VPN portal address", "top_k": 3})
    queue.drain()

    assert events.status_code == 200 and client.get("/healthz").status_code == 200
    assert search.get_json()["results"][0]["page_title"] in {"VPN Setup", "IT FAQ"}
    assert len(slack.calls_to("chat.postMessage")) == 1


# --- the push worker: what Pub/Sub hears back ---------------------------------------------------------


def _push_body(question: Question, *, attempt: int | None, published: datetime) -> bytes:
    envelope: dict[str, Any] = {
        "message": {
            "data": base64.b64encode(question.to_json()).decode(),
            "attributes": {"event_id": question.event_id},
            "messageId": "m-1",
            "publishTime": published.isoformat().replace("+00:00", "Z"),
        },
        "subscription": "projects/kb/subscriptions/kb-questions-answer",
    }
    if attempt is not None:
        envelope["deliveryAttempt"] = attempt
    return json.dumps(envelope).encode()


def test_a_pushed_question_is_answered_and_acknowledged(service: AnswerService, slack: SlackStandin) -> None:
    now = datetime.now(UTC)
    body = _push_body(_question(_mention()), attempt=1, published=now)

    reply = handle_push(method="POST", body=body, answers=lambda: service, now=now)

    assert reply.status == 200
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_an_outage_before_the_fifth_delivery_asks_pub_sub_to_deliver_again(
    slack: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service_with(monkeypatch, CHROMA_URL=f"http://127.0.0.1:{free_port()}", CHROMA_RETRIES="0")
    now = datetime.now(UTC)
    body = _push_body(_question(_mention()), attempt=4, published=now)

    reply = handle_push(method="POST", body=body, answers=lambda: service, now=now)

    assert reply.status == 503
    assert slack.calls_to("chat.postMessage") == []


def test_an_outage_on_the_fifth_delivery_apologises_whatever_the_age_of_the_question(
    slack: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service_with(monkeypatch, CHROMA_URL=f"http://127.0.0.1:{free_port()}", CHROMA_RETRIES="0")
    now = datetime.now(UTC)
    body = _push_body(_question(_mention()), attempt=5, published=now)

    reply = handle_push(method="POST", body=body, answers=lambda: service, now=now)

    assert reply.status == 200
    assert slack.calls_to("chat.postMessage")[0].args["text"] == SORRY


def test_without_a_delivery_attempt_the_age_of_the_question_decides_the_last_attempt(
    slack: SlackStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service_with(monkeypatch, CHROMA_URL=f"http://127.0.0.1:{free_port()}", CHROMA_RETRIES="0")
    now = datetime.now(UTC)
    fresh = _push_body(_question(_mention(event_id="EvFresh")), attempt=None, published=now)
    old = _push_body(
        _question(_mention(event_id="EvOld")), attempt=None, published=now - timedelta(minutes=6)
    )

    assert handle_push(method="POST", body=fresh, answers=lambda: service, now=now).status == 503
    assert handle_push(method="POST", body=old, answers=lambda: service, now=now).status == 200
    assert [call.args["text"] for call in slack.calls_to("chat.postMessage")] == [SORRY]


def test_a_request_that_is_not_a_push_is_refused_without_building_the_answer_service() -> None:
    def never() -> AnswerService:
        raise AssertionError("garbage must not load the answer service")

    now = datetime.now(UTC)
    assert handle_push(method="POST", body=b"[1]", answers=never, now=now).status == 400
    assert handle_push(method="GET", body=b"", answers=never, now=now).status == 405
