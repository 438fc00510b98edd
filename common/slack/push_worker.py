"""A question delivered by the Pub/Sub push subscription, handed to the answer service.

Returning acknowledges the delivery; `ServiceUnavailable` from the answer service (Chroma, Slack or the LLM
down) propagates so Pub/Sub redelivers, until this is the last attempt, when the asker gets an apology
instead. A delivery whose data is not a question is logged and acknowledged: any other answer makes Pub/Sub
redeliver a message that can never be answered.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from common.errors import InvalidInteraction
from common.infra.pubsub import PushedMessage
from common.logs import get_logger
from common.slack.questions import Question

if TYPE_CHECKING:
    from common.slack.answering import AnswerService

log = get_logger(__name__)


def answer_delivery(message: PushedMessage, answers: AnswerService, *, now: datetime) -> None:
    try:
        question = Question.from_json(message.data)
    except InvalidInteraction as exc:
        log.error("question_unreadable", message_id=message.message_id, error=str(exc))
        return
    answers.answer(question, last_attempt=message.is_last_attempt(now))
