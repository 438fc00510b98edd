"""functions-framework entry points. Each target translates a platform request, calls `common`, and
shapes the reply; no product rule lives here.

    functions-framework --source functions/main.py --target search
    functions-framework --source functions/main.py --target slack_events
    functions-framework --source functions/main.py --target slack_actions
    functions-framework --source functions/main.py --target slack_answer   (Pub/Sub push)
    functions-framework --source functions/main.py --target confluence_oauth   (Atlassian's redirect)

Only light modules are imported at the top: `slack_events` must answer Slack within 3 seconds even on a cold
start, so Chroma and the embedding model are imported by the builders of the targets that need them, on
their first request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING

import flask
import functions_framework

from common.config import get_settings
from common.infra.http_reply import TRACE_HEADER, request_id_from
from common.logs import configure_logging, get_logger, log_context
from common.runtime.webhook import build_events_webhook
from common.slack.webhook import EventsWebhook

if TYPE_CHECKING:
    from common.permissions.oauth_callback import OAuthCallback
    from common.search.access_tracking import AccessRecorder
    from common.search.api import SearchEndpoint
    from common.search.retriever import HybridRetriever
    from common.slack.answering import AnswerService
    from common.slack.interactions import InteractionHandler
    from common.store.chunk_store import ChunkStore

log = get_logger(__name__)


@cache
def _logging() -> None:
    settings = get_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)


@cache
def _store() -> ChunkStore:
    """One store per process, so every target shares one client and one circuit breaker."""
    from common.runtime.store import build_store

    _logging()
    return build_store(get_settings())


@cache
def _retriever() -> HybridRetriever:
    """Built on the first search, not on import, so a cold start answers /healthz at once."""
    from common.runtime.search import build_retriever

    return build_retriever(get_settings(), _store())


@cache
def _recorder() -> AccessRecorder:
    """One per process; its thread applies access counts to Chroma off the response path."""
    from common.runtime.search import build_access_recorder

    recorder = build_access_recorder(get_settings(), _store())
    recorder.start()
    return recorder


@cache
def _interactions() -> InteractionHandler:
    """One per process; its worker finishes after-acknowledgement work (thanks, owner notices)."""
    from common.runtime.slack import build_interaction_handler

    return build_interaction_handler(get_settings(), _store())


@cache
def _webhook() -> EventsWebhook:
    _logging()
    return build_events_webhook(get_settings())


@cache
def _answers() -> AnswerService:
    from common.runtime.slack import build_answer_service

    return build_answer_service(get_settings(), _store())


@cache
def _search() -> SearchEndpoint:
    from common.runtime.search import build_search_endpoint

    _logging()
    return build_search_endpoint(get_settings(), retriever=_retriever, recorder=_recorder)


@cache
def _oauth_callback() -> OAuthCallback:
    from common.runtime.permissions import build_oauth_callback

    _logging()
    return build_oauth_callback(get_settings())


@functions_framework.http
def confluence_oauth(request: flask.Request) -> tuple[str, int, dict[str, str]]:
    """Atlassian's OAuth 2.0 (3LO) redirect: link the Slack user the signed state names."""
    with log_context(
        request_id=request_id_from(request.headers.get(TRACE_HEADER)), target="confluence_oauth"
    ):
        return _oauth_callback().handle(request.args.to_dict()).for_flask()


@functions_framework.http
def search(request: flask.Request) -> tuple[str, int, dict[str, str]]:
    with log_context(request_id=request_id_from(request.headers.get(TRACE_HEADER)), target="search"):
        reply = _search().handle(
            method=request.method,
            path=request.path,
            body=request.get_data(cache=False),
            authorization=request.headers.get("Authorization"),
        )
        return reply.for_flask()


@functions_framework.http
def slack_events(request: flask.Request) -> tuple[str, int, dict[str, str]]:
    """Slack's Events API Request URL: verify, queue the question, answer Slack at once."""
    with log_context(request_id=request_id_from(request.headers.get(TRACE_HEADER)), target="slack_events"):
        reply = _webhook().handle(body=request.get_data(cache=False), headers=dict(request.headers))
        return reply.for_flask()


@functions_framework.http
def slack_actions(request: flask.Request) -> tuple[str, int, dict[str, str]]:
    """Slack's interactivity endpoint (feedback buttons, the problem modal, owners' review button)."""
    with log_context(request_id=request_id_from(request.headers.get(TRACE_HEADER)), target="slack_actions"):
        reply = _interactions().handle(body=request.get_data(cache=False), headers=dict(request.headers))
        return reply.for_flask()


@functions_framework.http
def slack_answer(request: flask.Request) -> tuple[str, int, dict[str, str]]:
    """The questions topic's push subscription delivers here (`common.slack.push_worker`)."""
    from common.slack.push_worker import handle_push

    _logging()
    with log_context(request_id=request_id_from(request.headers.get(TRACE_HEADER)), target="slack_answer"):
        reply = handle_push(
            method=request.method, body=request.get_data(cache=False), answers=_answers, now=datetime.now(UTC)
        )
        return reply.for_flask()
