"""`kb serve`: every HTTP target on one port with the embedded defaults, for a laptop behind a tunnel.

Routes: `POST /slack/events` (questions answered in a background thread instead of over Pub/Sub),
`POST /slack/actions`, `POST /search`, `GET /healthz`. The handlers are the ones the cloud functions use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import flask

from common.config import Settings
from common.question_queue import InProcessQuestionQueue
from common.runtime import (
    build_access_recorder,
    build_answer_service,
    build_interaction_handler,
    build_retriever,
)
from common.search_api import as_json, handle_search
from common.slack.reply import SlackReply
from common.vectorstore import ChunkStore
from common.webhook_runtime import build_events_webhook


def create_local_app(settings: Settings) -> tuple[flask.Flask, InProcessQuestionQueue]:
    store = ChunkStore.from_settings(settings)
    retriever = build_retriever(settings, store)
    recorder = build_access_recorder(settings, store)
    recorder.start()
    answers = build_answer_service(settings, store)
    queue = InProcessQuestionQueue(answers.answer)
    webhook = build_events_webhook(settings, queue)
    interactions = build_interaction_handler(settings, store)
    api_key = settings.search_api_key.get_secret_value() if settings.search_api_key else None
    app = flask.Flask("kb-serve")

    def slack(reply: SlackReply) -> tuple[str, int, dict[str, str]]:
        body = json.dumps(reply.body) if reply.body is not None else ""
        return body, reply.status, {"Content-Type": "application/json"}

    @app.post("/slack/events")
    def slack_events() -> tuple[str, int, dict[str, str]]:
        return slack(webhook.handle(body=flask.request.get_data(), headers=dict(flask.request.headers)))

    @app.post("/slack/actions")
    def slack_actions() -> tuple[str, int, dict[str, str]]:
        return slack(interactions.handle(body=flask.request.get_data(), headers=dict(flask.request.headers)))

    @app.route("/search", methods=["POST"])
    @app.route("/healthz", methods=["GET"])
    def search() -> tuple[str, int, Mapping[str, str]]:
        response = handle_search(
            method=flask.request.method,
            path=flask.request.path,
            body=flask.request.get_data(),
            authorization=flask.request.headers.get("Authorization"),
            api_key=api_key,
            retriever=lambda: retriever,
            recorder=lambda: recorder,
        )
        return as_json(response)

    return app, queue
