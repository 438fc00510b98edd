"""`kb serve`: every HTTP target on one port with the embedded defaults, for a laptop behind a tunnel.

Routes: `POST /slack/events` (questions answered in a background thread instead of over Pub/Sub),
`POST /slack/actions`, `POST /search`, `GET /healthz`. The handlers are the ones the cloud functions use.
"""

from __future__ import annotations

import flask

from common.config import Settings
from common.runtime.search import build_access_recorder, build_retriever, build_search_endpoint
from common.runtime.slack import build_answer_service, build_interaction_handler
from common.runtime.store import build_store
from common.runtime.webhook import build_events_webhook
from common.slack.question_queue import InProcessQuestionQueue


def create_local_app(settings: Settings) -> tuple[flask.Flask, InProcessQuestionQueue]:
    store = build_store(settings)
    retriever = build_retriever(settings, store)
    recorder = build_access_recorder(settings, store)
    recorder.start()
    answers = build_answer_service(settings, store)
    queue = InProcessQuestionQueue(answers.answer)
    webhook = build_events_webhook(settings, queue)
    interactions = build_interaction_handler(settings, store)
    endpoint = build_search_endpoint(settings, retriever=lambda: retriever, recorder=lambda: recorder)
    app = flask.Flask("kb-serve")

    @app.post("/slack/events")
    def slack_events() -> tuple[str, int, dict[str, str]]:
        request = flask.request
        return webhook.handle(body=request.get_data(), headers=dict(request.headers)).for_flask()

    @app.post("/slack/actions")
    def slack_actions() -> tuple[str, int, dict[str, str]]:
        request = flask.request
        return interactions.handle(body=request.get_data(), headers=dict(request.headers)).for_flask()

    @app.route("/search", methods=["POST"])
    @app.route("/healthz", methods=["GET"])
    def search() -> tuple[str, int, dict[str, str]]:
        request = flask.request
        reply = endpoint.handle(
            method=request.method,
            path=request.path,
            body=request.get_data(),
            authorization=request.headers.get("Authorization"),
        )
        return reply.for_flask()

    return app, queue
