"""Builds the events webhook from settings, importing nothing heavy.

Kept apart from the rest of `common.runtime` (which pulls in Chroma and the embedding model) so the
`slack_events` function starts and answers Slack fast: its import path is settings, logging, Slack parsing and
Pub/Sub.
"""

from __future__ import annotations

from common.config import Settings
from common.errors import ConfigError
from common.infra.pubsub import PubSubPublisher
from common.runtime.infra import build_record_files
from common.runtime.publishing import build_publisher
from common.slack.answer_registry import AnswerRegistry
from common.slack.client import web_client
from common.slack.question_queue import PubSubQuestionQueue
from common.slack.signal_recorder import SignalRecorder
from common.slack.suggested_prompts import SuggestedPrompts
from common.slack.webhook import EventsWebhook, QuestionQueue

PUBLISH_TIMEOUT_SECONDS = 2.0
"""Slack gives the webhook 3 s; a publish that takes longer answers 503 and Slack retries the event."""
PROMPTS_TIMEOUT_SECONDS = 2.0
"""The same budget for setting a new assistant thread's suggested prompts."""


def build_question_publisher(settings: Settings) -> PubSubQuestionQueue:
    if not settings.gcp_project:
        raise ConfigError(
            "GCP_PROJECT is not set: the events webhook hands questions to Pub/Sub in the cloud "
            "(run `kb serve` to answer in process on one machine)."
        )
    return PubSubQuestionQueue(
        PubSubPublisher(
            settings.gcp_project,
            settings.questions_topic,
            endpoint=settings.pubsub_endpoint,
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )
    )


def build_events_webhook(settings: Settings, queue: QuestionQueue | None = None) -> EventsWebhook:
    if settings.slack_signing_secret is None:
        raise ConfigError("SLACK_SIGNING_SECRET is not set: copy it from the Slack app's Basic Information.")
    return EventsWebhook(
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        queue=queue or build_question_publisher(settings),
        signals=SignalRecorder(registry=build_answer_registry(settings), publisher=build_publisher(settings)),
        prompts=build_suggested_prompts(settings),
    )


def build_suggested_prompts(settings: Settings) -> SuggestedPrompts | None:
    """None without a bot token: the webhook then acknowledges new assistant threads and sets nothing."""
    if settings.slack_bot_token is None:
        return None
    slack = web_client(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=PROMPTS_TIMEOUT_SECONDS,
        retries=False,
    )
    return SuggestedPrompts(slack=slack, prompts=settings.suggested_prompts)


def build_answer_registry(settings: Settings) -> AnswerRegistry:
    """Shared by the answer worker (writes) and the events webhook (reads), on different instances."""
    return AnswerRegistry(build_record_files(settings, "answers"))
