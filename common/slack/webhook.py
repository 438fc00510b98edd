"""Slack's Events API endpoint: verify, parse, hand the question over, answer Slack at once.

Slack wants a 200 within 3 seconds and retries otherwise, and a serverless function cannot keep working after
it answers; so this only verifies, parses and puts the question on a queue (Pub/Sub in the cloud), and a
worker answers it. It imports nothing heavy (no torch, no Chroma) so even a cold start answers in well under
a second. Retries and repeated event ids are dropped here when this process has already queued them, and
claimed by event id in the worker, so one question gets one answer whichever instance sees it.

Reactions on the bot's answers and replies in their threads become behavioural signals here
(`common.slack.signal_recorder`); a reply that only thanks the bot, or only complains, is not answered. A new
thread in Slack's assistant view gets its suggested prompts here (`common.slack.suggested_prompts`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from common.errors import InvalidInteraction, KbError, ServiceUnavailable
from common.infra.http_reply import HttpReply
from common.logs import get_logger
from common.slack.questions import AssistantThreadStarted, Challenge, Ignored, Question, parse_event
from common.slack.signal_recorder import SignalRecorder
from common.slack.signals import Reaction
from common.slack.signing import rejection
from common.slack.suggested_prompts import SuggestedPrompts

log = get_logger(__name__)

REMEMBERED_EVENTS = 10_000


class QuestionQueue(Protocol):
    def submit(self, question: Question) -> None:
        """Take the question for answering; raise `ServiceUnavailable` when it cannot be taken now."""
        ...


class EventsWebhook:
    def __init__(
        self,
        *,
        signing_secret: str,
        queue: QuestionQueue,
        signals: SignalRecorder | None = None,
        prompts: SuggestedPrompts | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._secret = signing_secret
        self._prompts = prompts
        self._queue = queue
        self._signals = signals
        self._clock = clock
        self._queued: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def handle(self, *, body: bytes, headers: Mapping[str, str]) -> HttpReply:
        refused = rejection(body=body, headers=headers, secret=self._secret, now=self._clock().timestamp())
        if refused is not None:
            return refused
        try:
            parsed = parse_event(body)
        except InvalidInteraction as exc:
            log.warning("slack_event_invalid", error=str(exc))
            return HttpReply(400, {"error": str(exc)})
        if isinstance(parsed, Challenge):
            return HttpReply(200, {"challenge": parsed.challenge})
        if isinstance(parsed, Ignored):
            log.info("slack_event_ignored", reason=parsed.reason)
            return HttpReply(200)
        if isinstance(parsed, Reaction):
            return self._reaction(parsed)
        if isinstance(parsed, AssistantThreadStarted):
            if self._prompts is not None:
                self._prompts.thread_started(parsed)
            return HttpReply(200)
        if parsed.is_reply and not self._reply_wants_answer(parsed):
            return HttpReply(200)
        return self._queue_question(parsed, retry=_retry_number(headers))

    def _reaction(self, reaction: Reaction) -> HttpReply:
        if self._signals is None:
            return HttpReply(200)
        try:
            self._signals.reaction(reaction)
        except ServiceUnavailable as exc:
            log.error("reaction_signal_not_recorded", event_id=reaction.event_id, error=str(exc))
            return HttpReply(503, {"error": "Signals cannot be recorded now; Slack will retry."})
        except KbError as exc:
            log.error("reaction_signal_not_recorded", event_id=reaction.event_id, error=str(exc))
        return HttpReply(200)

    def _reply_wants_answer(self, question: Question) -> bool:
        """When the reply cannot be classified now it is answered like any follow-up: the person comes
        first, the signal is logged as lost."""
        if self._signals is None:
            return True
        try:
            return self._signals.reply(question)
        except KbError as exc:
            log.error("reply_signal_not_recorded", event_id=question.event_id, error=str(exc))
            return True

    def _queue_question(self, question: Question, *, retry: int | None) -> HttpReply:
        with self._lock:
            if question.event_id in self._queued:
                log.info("slack_event_duplicate", event_id=question.event_id, retry=retry)
                return HttpReply(200)
        try:
            self._queue.submit(question)
        except ServiceUnavailable as exc:
            log.error("question_not_queued", event_id=question.event_id, error=str(exc))
            return HttpReply(503, {"error": "The question queue is unavailable; Slack will retry."})
        with self._lock:
            self._queued[question.event_id] = None
            while len(self._queued) > REMEMBERED_EVENTS:
                self._queued.popitem(last=False)
        log.info(
            "question_queued",
            event_id=question.event_id,
            channel=question.channel,
            channel_type=question.channel_type,
            retry=retry,
        )
        return HttpReply(200)


def _retry_number(headers: Mapping[str, str]) -> int | None:
    value = {name.lower(): v for name, v in headers.items()}.get("x-slack-retry-num")
    return int(value) if value and value.isdigit() else None
