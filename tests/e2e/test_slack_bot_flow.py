"""The whole Slack flow as deployed: signed fixture events to the `slack_events` function, the question over
the Pub/Sub emulator's push subscription to the `slack_answer` function served over HTTP, and the answer in a
Slack Web API stand-in. The functions run in this process here (the bench `slack_ack.py` reuses `_Worker`), so
these cover the webhook's own cases; `test_whole_system.py` runs every part as its own process."""

from __future__ import annotations

import json
import shutil
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from functions_framework import create_app
from werkzeug.serving import make_server

from common.config import get_settings, load_settings
from common.confluence.folder_source import FolderPageSource
from common.infra.pubsub import PubSubPublisher
from common.slack.questions import parse_event
from tests.support.paths import REPO_ROOT
from tests.support.pubsub_emulator import PubSubEmulator
from tests.support.runs import run_sync
from tests.support.sample_space import IT_SECTION, copy_sample_space
from tests.support.slack_payloads import SLACK_FIXTURES as FIXTURES
from tests.support.slack_signing import sign
from tests.support.slack_standin import SlackStandin

SECRET = "e2e-secret"
PROJECT = "kb-e2e"
MAIN = str(REPO_ROOT / "functions" / "main.py")


@pytest.fixture(scope="module")
def synced_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("slack-e2e")
    home = root / "kb-home"
    run_sync(
        load_settings(kb_home=home), source=FolderPageSource(copy_sample_space(root / "it", only=IT_SECTION))
    )
    return home


class _Worker:
    """The `slack_answer` function on a real HTTP port, where the emulator pushes questions."""

    def __init__(self) -> None:
        self.app = create_app(target="slack_answer", source=MAIN)
        self.module = sys.modules["main"]
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/"

    def __enter__(self) -> _Worker:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()


@pytest.fixture
def slack(
    synced_home: Path, kb_home: Path, monkeypatch: pytest.MonkeyPatch, pubsub_emulator: PubSubEmulator
) -> Iterator[SlackStandin]:
    shutil.copytree(synced_home, kb_home)
    topic = f"kb-questions-{uuid.uuid4().hex[:8]}"
    analytics = f"kb-analytics-{uuid.uuid4().hex[:8]}"
    pubsub_emulator.create_topic(PROJECT, topic)
    pubsub_emulator.create_topic(PROJECT, analytics)
    with SlackStandin() as standin:
        standin.add_user("W222", "asker@larkspur.example", "asker")
        for name, value in {
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_API_URL": standin.api_url,
            "GCP_PROJECT": PROJECT,
            "PUBSUB_ENDPOINT": pubsub_emulator.host,
            "QUESTIONS_TOPIC": topic,
            "ANALYTICS_TOPIC": analytics,
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        with _Worker() as worker:
            pubsub_emulator.create_push_subscription(PROJECT, topic, f"{topic}-push", worker.url)
            yield standin


@pytest.fixture
def events() -> FlaskClient:
    return create_app(target="slack_events", source=MAIN).test_client()


def _fixture(name: str, **event: Any) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    payload["event"].update(event)
    return payload


def _mention(event_id: str, text: str = "<@W111> How do I connect to the VPN from home?") -> dict[str, Any]:
    payload = _fixture(
        "bolt-python__event_callback__app_mention.json", text=text, ts=f"1595926{event_id[-3:]}.000100"
    )
    payload["event_id"] = event_id
    return payload


def _send(client: FlaskClient, payload: dict[str, Any], **headers: str) -> int:
    body = json.dumps(payload).encode()
    response = client.post(
        "/", data=body, headers={"Content-Type": "application/json", **sign(body, secret=SECRET), **headers}
    )
    return response.status_code


def test_url_verification_gets_its_challenge_back(events: FlaskClient, slack: SlackStandin) -> None:
    body = (FIXTURES / "bolt-python__url_verification.json").read_bytes()

    response = events.post(
        "/", data=body, headers={"Content-Type": "application/json", **sign(body, secret=SECRET)}
    )

    assert response.get_json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_a_mention_gets_one_threaded_answer_even_when_slack_retries(
    events: FlaskClient, slack: SlackStandin
) -> None:
    mention = _mention("Ev100")

    assert _send(events, mention) == 200
    assert _send(events, mention, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}) == 200
    assert _send(events, _mention("Ev101", "<@W111> How do I reset my password?")) == 200

    posted = slack.wait_for("chat.postMessage", count=2)
    assert sorted(call.args["thread_ts"] for call in posted) == sorted(
        [mention["event"]["ts"], "1595926101.000100"]
    )
    assert all("kb_vote_helpful" in json.dumps(call.args["blocks"]) for call in posted)
    assert all("Sources" in json.dumps(call.args["blocks"]) for call in posted)


def test_bot_messages_are_acknowledged_and_never_answered(events: FlaskClient, slack: SlackStandin) -> None:
    bot = _fixture("bolt-python__event_callback__message_im.json", bot_id="B999", text="I am a bot")
    bot["event_id"] = "EvBot"

    assert _send(events, bot) == 200
    assert _send(events, _mention("Ev102")) == 200

    [posted] = slack.wait_for("chat.postMessage")
    assert posted.args["thread_ts"] == "1595926102.000100"


def test_the_same_question_delivered_twice_by_pubsub_is_answered_once(slack: SlackStandin) -> None:
    question = parse_event(json.dumps(_mention("Ev103")).encode())
    publisher = PubSubPublisher(
        PROJECT, get_settings().questions_topic, endpoint=get_settings().pubsub_endpoint
    )

    publisher.publish(question.to_json())  # type: ignore[union-attr]
    publisher.publish(question.to_json())  # type: ignore[union-attr]
    publisher.publish(parse_event(json.dumps(_mention("Ev104")).encode()).to_json())  # type: ignore[union-attr]

    posted = slack.wait_for("chat.postMessage", count=2)
    assert sorted(call.args["thread_ts"] for call in posted) == ["1595926103.000100", "1595926104.000100"]
