"""Where the events webhook puts questions: a Pub/Sub topic in the cloud, a thread pool on one machine.

Pub/Sub because a function cannot keep working after it has answered Slack: the topic's push subscription
delivers each question to the `slack_answer` worker, and redelivers it when the worker fails in a way a
retry can fix. On a laptop (`kb serve`) the same service answers in a background thread instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from common.infra.background import TaskPool
from common.slack.questions import Question

if TYPE_CHECKING:
    from common.infra.pubsub import PubSubPublisher


class PubSubQuestionQueue:
    def __init__(self, publisher: PubSubPublisher) -> None:
        self._publisher = publisher

    def submit(self, question: Question) -> None:
        self._publisher.publish(question.to_json(), attributes={"event_id": question.event_id})


class InProcessQuestionQueue:
    def __init__(self, answer: Callable[[Question], object], *, workers: int = 4) -> None:
        self._answer = answer
        self._tasks = TaskPool(name="answer", workers=workers)

    def submit(self, question: Question) -> None:
        self._tasks.submit(lambda: self._answer(question))

    def drain(self) -> None:
        """Wait for every question taken so far to be answered (tests, shutdown)."""
        self._tasks.drain()
