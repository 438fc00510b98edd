"""functions-framework entry points. Each target translates a platform request, calls `common`, and
shapes the reply; no product rule lives here.

    functions-framework --source functions/main.py --target search
    functions-framework --source functions/main.py --target slack_actions
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache

import flask
import functions_framework

from common.access_tracking import AccessRecorder
from common.config import get_settings
from common.logs import configure_logging
from common.runtime import build_access_recorder, build_interaction_handler, build_retriever
from common.search import HybridRetriever
from common.search_api import as_json, handle_search
from common.slack.interactions import InteractionHandler
from common.vectorstore import ChunkStore


@cache
def _store() -> ChunkStore:
    """One store per process, so search and access counting share one client and one circuit breaker."""
    settings = get_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    return ChunkStore.from_settings(settings)


@cache
def _retriever() -> HybridRetriever:
    """Built on the first search, not on import, so a cold start answers /healthz at once."""
    return build_retriever(get_settings(), _store())


@cache
def _recorder() -> AccessRecorder:
    """One per process; its thread applies access counts to Chroma off the response path."""
    recorder = build_access_recorder(get_settings(), _store())
    recorder.start()
    return recorder


@cache
def _interactions() -> InteractionHandler:
    """One per process; its worker finishes after-acknowledgement work (thanks, owner notices)."""
    return build_interaction_handler(get_settings(), _store())


@functions_framework.http
def slack_actions(request: flask.Request) -> tuple[str, int, Mapping[str, str]]:
    """Slack's interactivity endpoint (feedback buttons, the problem modal, owners' review button)."""
    reply = _interactions().handle(body=request.get_data(cache=False), headers=dict(request.headers))
    body = json.dumps(reply.body) if reply.body is not None else ""
    return body, reply.status, {"Content-Type": "application/json"}


@functions_framework.http
def search(request: flask.Request) -> tuple[str, int, Mapping[str, str]]:
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
