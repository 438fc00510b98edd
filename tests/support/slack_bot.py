"""The events webhook with the answer service behind it, as `kb serve` wires them, driven by signed bodies."""

from __future__ import annotations

import json
from typing import Any

from common.config import get_settings
from common.runtime.slack import build_answer_service
from common.runtime.store import build_store
from common.runtime.webhook import build_events_webhook
from common.slack.answering import AnswerService
from common.slack.question_queue import InProcessQuestionQueue
from common.slack.webhook import EventsWebhook
from tests.support.slack_signing import sign


class Bot:
    def __init__(self, *, secret: str) -> None:
        settings = get_settings()
        self._secret = secret
        self.service: AnswerService = build_answer_service(settings, build_store(settings))
        self.queue = InProcessQuestionQueue(self.service.answer)
        self.webhook: EventsWebhook = build_events_webhook(settings, queue=self.queue)

    def send(self, payload: dict[str, Any]) -> int:
        """Deliver an event as Slack would (signed JSON); returns the status once every answer is written."""
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **sign(body, secret=self._secret)}
        status = self.webhook.handle(body=body, headers=headers).status
        self.queue.drain()
        return status
