"""functions-framework entry points. Each target translates a platform request, calls `common`, and
shapes the reply; no product rule lives here.

    functions-framework --source functions/main.py --target search
    functions-framework --source functions/main.py --target slack_events
    functions-framework --source functions/main.py --target slack_actions
    functions-framework --source functions/main.py --target slack_answer   (CloudEvent from Pub/Sub)

Only light modules are imported at the top: `slack_events` must answer Slack within 3 seconds even on a cold
start, so Chroma and the embedding model are imported by the builders of the targets that need them, on
their first request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

import flask
import functions_framework
from cloudevents.http.event import CloudEvent
from werkzeug.exceptions import BadRequest

from common.config import get_settings
from common.logs import configure_logging, get_logger
from common.slack.reply import SlackReply
from common.slack.webhook import EventsWebhook
from common.webhook_runtime import build_events_webhook

if TYPE_CHECKING:
    from common.access_tracking import AccessRecorder
    from common.pubsub_queue import PushedMessage
    from common.search import HybridRetriever
    from common.slack.answering import AnswerService
    from common.slack.interactions import InteractionHandler
    from common.vectorstore import ChunkStore

log = get_logger(__name__)


@cache
def _logging() -> None:
    settings = get_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)


@cache
def _store() -> ChunkStore:
    """One store per process, so every target shares one client and one circuit breaker."""
    from common.vectorstore import ChunkStore

    _logging()
    return ChunkStore.from_settings(get_settings())


@cache
def _retriever() -> HybridRetriever:
    """Built on the first search, not on import, so a cold start answers /healthz at once."""
    from common.runtime import build_retriever

    return build_retriever(get_settings(), _store())


@cache
def _recorder() -> AccessRecorder:
    """One per process; its thread applies access counts to Chroma off the response path."""
    from common.runtime import build_access_recorder

    recorder = build_access_recorder(get_settings(), _store())
    recorder.start()
    return recorder


@cache
def _interactions() -> InteractionHandler:
    """One per process; its worker finishes after-acknowledgement work (thanks, owner notices)."""
    from common.runtime import build_interaction_handler

    return build_interaction_handler(get_settings(), _store())


@cache
def _webhook() -> EventsWebhook:
    _logging()
    return build_events_webhook(get_settings())


@cache
def _answers() -> AnswerService:
    from common.runtime import build_answer_service

    return build_answer_service(get_settings(), _store())


def _json_reply(reply: SlackReply) -> tuple[str, int, Mapping[str, str]]:
    body = json.dumps(reply.body) if reply.body is not None else ""
    return body, reply.status, {"Content-Type": "application/json"}


@functions_framework.http
def search(request: flask.Request) -> tuple[str, int, Mapping[str, str]]:
    from common.search_api import as_json, handle_search

    settings = get_settings()
    api_key = settings.search_api_key.get_secret_value() if settings.search_api_key else None
    response = handle_search(
        method=request.method,
        path=request.path,
        body=request.get_data(cache=False),
        authorization=request.headers.get("Authorization"),
        api_key=api_key,
        retriever=_retriever,
        recorder=_recorder,
    )
    return as_json(response)


@functions_framework.http
def slack_events(request: flask.Request) -> tuple[str, int, Mapping[str, str]]:
    """Slack's Events API Request URL: verify, queue the question, answer Slack at once."""
    return _json_reply(_webhook().handle(body=request.get_data(cache=False), headers=dict(request.headers)))


@functions_framework.http
def slack_actions(request: flask.Request) -> tuple[str, int, Mapping[str, str]]:
    """Slack's interactivity endpoint (feedback buttons, the problem modal, owners' review button)."""
    reply = _interactions().handle(body=request.get_data(cache=False), headers=dict(request.headers))
    return _json_reply(reply)


@functions_framework.cloud_event
def slack_answer(event: CloudEvent) -> None:
    """A question from the Pub/Sub push subscription. Returning acknowledges it; raising `ServiceUnavailable`
    (Chroma, Slack or the LLM down) makes Pub/Sub redeliver it later, until the question is old enough that
    the asker should rather hear that it failed.

    A request that is not a Pub/Sub delivery gets a 400. A delivery whose data is not a question is logged
    and acknowledged: any other answer makes Pub/Sub redeliver a message that can never be answered."""
    from common.errors import InvalidInteraction
    from common.pubsub_queue import InvalidPushMessage, decode_cloudevent
    from common.slack.events import Question

    _logging()
    try:
        message = decode_cloudevent(event.get_data())
    except InvalidPushMessage as exc:
        log.warning("push_rejected", error=str(exc))
        raise BadRequest(str(exc)) from exc
    try:
        question = Question.from_json(message.data)
    except InvalidInteraction as exc:
        log.error("question_unreadable", message_id=message.message_id, error=str(exc))
        return
    _answers().answer(question, last_attempt=_last_attempt(message))


def _last_attempt(message: PushedMessage) -> bool:
    """Pub/Sub reports the attempt only with a dead-letter policy and only in some push shapes, so the
    question's age decides too."""
    if message.delivery_attempt is not None and message.delivery_attempt >= MAX_DELIVERY_ATTEMPTS:
        return True
    published = (
        datetime.fromisoformat(message.publish_time.replace("Z", "+00:00")) if message.publish_time else None
    )
    return published is not None and datetime.now(UTC) - published > GIVE_UP_AFTER


MAX_DELIVERY_ATTEMPTS = 5
GIVE_UP_AFTER = timedelta(minutes=5)
