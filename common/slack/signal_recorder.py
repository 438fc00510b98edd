"""Turning reactions, thread replies and rephrased questions into `behavioural_signal` events.

Each signal names the answer it is about and the chunks that answer cited (`common.slack.answer_registry`).
Its event id is derived from Slack's event id, so a delivery Slack retries, or two instances that both see
it, land as one row: the analytics ingest drops repeated event ids.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Sequence

from common.events.model import BehaviouralSignal
from common.events.publishers import EventPublisher
from common.logs import get_logger
from common.slack.answer_registry import AnswerRegistry, PostedAnswer
from common.slack.questions import Question
from common.slack.signals import Reaction, ReplyKind, answers_reply, classify_reply

log = get_logger(__name__)

_SIGNAL_IDS = uuid.UUID("6f1d2b8e-9c3a-4e57-8a61-2d4f0b7c9e15")


def signal_event_id(slack_event_id: str, signal: str) -> str:
    return uuid.uuid5(_SIGNAL_IDS, f"{slack_event_id}:{signal}").hex


class SignalRecorder:
    def __init__(self, *, registry: AnswerRegistry, publisher: EventPublisher) -> None:
        self._registry = registry
        self._publisher = publisher

    def reaction(self, reaction: Reaction) -> None:
        signal = reaction.signal
        if signal is None:
            log.info("reaction_not_a_signal", reaction=reaction.name)
            return
        answer = self._registry.by_message(reaction.channel, reaction.ts)
        if answer is None:
            log.info("reaction_not_on_an_answer", channel=reaction.channel, ts=reaction.ts)
            return
        self._publish(reaction.event_id, signal, answer, user=reaction.user, detail=reaction.detail)

    def reply(self, question: Question) -> bool:
        """Record a reply in an answer's thread as a signal; returns whether the bot should answer it (a
        message in a thread the bot never answered is a question like any other)."""
        answer = self._registry.by_thread(question.channel, question.thread_ts)
        if answer is None:
            return True
        kind: ReplyKind = classify_reply(question.text)
        self._publish(question.event_id, kind, answer, user=question.user, detail="")
        return answers_reply(kind, question.text)

    def _publish(
        self, slack_event_id: str, signal: str, answer: PostedAnswer, *, user: str, detail: str
    ) -> None:
        self._publisher.publish(
            [
                BehaviouralSignal(
                    event_id=signal_event_id(slack_event_id, signal),
                    signal=signal,
                    answer_id=answer.answer_id,
                    user_id=user,
                    detail=detail,
                    chunk_ids=list(answer.cited_chunk_ids),
                )
            ]
        )
        log.info("behavioural_signal", signal=signal, answer_id=answer.answer_id)


class Rephrasings:
    """The same person asking something close to their last question soon after: the last answer missed."""

    def __init__(
        self,
        *,
        registry: AnswerRegistry,
        embed: Callable[[str], Sequence[float]],
        publisher: EventPublisher,
        window_seconds: float,
        similarity: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._registry = registry
        self._embed = embed
        self._publisher = publisher
        self._window = window_seconds
        self._similarity = similarity
        self._clock = clock

    def check(self, question: Question) -> tuple[float, ...]:
        """Publish a `rephrase` signal on the asker's previous answer if this question rephrases it; returns
        the question's vector for the record of this one."""
        vector = tuple(float(v) for v in self._embed(question.text))
        previous = self._registry.latest_of(question.user)
        if (
            previous is not None
            and previous.question_id != question.event_id
            and self._clock() - previous.asked_at <= self._window
            and _cosine(previous.question_vector, vector) >= self._similarity
        ):
            self._publisher.publish(
                [
                    BehaviouralSignal(
                        event_id=signal_event_id(question.event_id, "rephrase"),
                        signal="rephrase",
                        answer_id=previous.answer_id,
                        user_id=question.user,
                        chunk_ids=list(previous.cited_chunk_ids),
                    )
                ]
            )
            log.info("behavioural_signal", signal="rephrase", answer_id=previous.answer_id)
        return vector


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b) or not a:
        return 0.0
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norms if norms else 0.0
