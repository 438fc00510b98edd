"""The worker behind the questions topic: Pub/Sub's push subscription POSTs each question here.

The body is the push envelope (`message` with base64 `data`, `attributes`, `messageId`, `publishTime`;
`subscription`; `deliveryAttempt` when the subscription has a dead-letter policy, as the Terraform's has),
read here rather than by a framework, so every answer is ours:

- not a push delivery (bad JSON, wrong shape, another method): 400 or 405, and nothing is done;
- a delivery whose data is not a question: logged and acknowledged (200), since any other answer makes
  Pub/Sub redeliver a message that can never be answered;
- an outage a retry can fix (Chroma, Slack or the LLM down): 503, so Pub/Sub redelivers with backoff, until
  the last attempt (`PushedMessage.is_last_attempt`), when the asker gets an apology instead;
- otherwise the question is answered and acknowledged (200).

`answers` is called only for a real question, so garbage never loads the embedding model.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from common.errors import InvalidInteraction, InvalidPushMessage, ServiceUnavailable
from common.infra.http_reply import HttpReply
from common.infra.pubsub import decode_push
from common.logs import get_logger, log_context
from common.slack.questions import Question

if TYPE_CHECKING:
    from common.slack.answering import AnswerService

log = get_logger(__name__)


def handle_push(
    *, method: str, body: bytes, answers: Callable[[], AnswerService], now: datetime
) -> HttpReply:
    if method != "POST":
        return HttpReply(405, {"error": "Pub/Sub pushes deliveries with POST."})
    try:
        message = decode_push(body)
    except InvalidPushMessage as exc:
        log.warning("push_rejected", error=str(exc))
        return HttpReply(400, {"error": str(exc)})
    with log_context(message_id=message.message_id, delivery_attempt=str(message.delivery_attempt or "")):
        try:
            question = Question.from_json(message.data)
        except InvalidInteraction as exc:
            log.error("question_unreadable", error=str(exc))
            return HttpReply(200)
        try:
            answers().answer(question, last_attempt=message.is_last_attempt(now))
        except ServiceUnavailable as exc:
            log.warning("question_redelivery_requested", error=str(exc))
            return HttpReply(503, {"error": "A service the answer needs is unavailable; deliver it again."})
    return HttpReply(200)
