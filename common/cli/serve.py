"""`kb serve`: every HTTP target on one port with the embedded defaults, for a laptop behind a tunnel.

Routes: `POST /slack/events` (questions answered in a background thread instead of over Pub/Sub),
`POST /slack/actions`, `POST /search`, `GET /healthz`. The handlers are the ones the cloud functions use.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

import flask

from common.config import Settings
from common.documents.page import published_page
from common.errors import DocumentRefused
from common.infra.http_reply import TRACE_HEADER, HttpReply, request_id_from
from common.logs import log_context
from common.runtime.documents import build_document_service
from common.runtime.permissions import build_oauth_callback
from common.runtime.search import build_access_recorder, build_retriever, build_search_endpoint
from common.runtime.slack import build_answer_service, build_interaction_handler
from common.runtime.store import build_store
from common.runtime.webhook import build_events_webhook
from common.slack.question_queue import InProcessQuestionQueue

PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
"""A document page loads nothing, runs nothing; only its own inline style."""


def create_local_app(settings: Settings) -> tuple[flask.Flask, InProcessQuestionQueue]:
    store = build_store(settings)
    retriever = build_retriever(settings, store)
    recorder = build_access_recorder(settings, store)
    recorder.start()
    answers = build_answer_service(settings, store)
    queue = InProcessQuestionQueue(answers.answer)
    webhook = build_events_webhook(settings, queue)
    interactions = build_interaction_handler(settings, store)
    documents = build_document_service(settings, store)
    endpoint = build_search_endpoint(settings, retriever=lambda: retriever, recorder=lambda: recorder)
    oauth = build_oauth_callback(settings)
    app = flask.Flask("kb-serve")

    def served(target: str, handle: Callable[[flask.Request], HttpReply]) -> tuple[str, int, dict[str, str]]:
        request = flask.request
        with log_context(request_id=request_id_from(request.headers.get(TRACE_HEADER)), target=target):
            return handle(request).for_flask()

    @app.post("/slack/events")
    def slack_events() -> tuple[str, int, dict[str, str]]:
        return served("slack_events", lambda r: webhook.handle(body=r.get_data(), headers=dict(r.headers)))

    @app.post("/slack/actions")
    def slack_actions() -> tuple[str, int, dict[str, str]]:
        return served(
            "slack_actions", lambda r: interactions.handle(body=r.get_data(), headers=dict(r.headers))
        )

    @app.route("/search", methods=["POST"])
    @app.route("/healthz", methods=["GET"])
    def search() -> tuple[str, int, dict[str, str]]:
        return served(
            "search",
            lambda r: endpoint.handle(
                method=r.method, path=r.path, body=r.get_data(), authorization=r.headers.get("Authorization")
            ),
        )

    @app.get("/confluence/oauth")
    def confluence_oauth() -> tuple[str, int, dict[str, str]]:
        """Atlassian's OAuth redirect (CONFLUENCE_OAUTH_REDIRECT_URL) when the product runs on one port."""
        with log_context(request_id=request_id_from(None), target="confluence_oauth"):
            return oauth.handle(flask.request.args.to_dict()).for_flask()

    @app.get("/documents/<document_id>")
    def document(document_id: str) -> tuple[str, int, dict[str, str]]:
        """Where documents published without Confluence link to (DOC_LINK_BASE): the published version."""
        try:
            page = published_page(documents.workflow, document_id)
        except DocumentRefused as exc:
            return escape(str(exc)), 404, {"Content-Type": "text/plain; charset=utf-8"}
        return (
            page,
            200,
            {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": PAGE_POLICY},
        )

    return app, queue
