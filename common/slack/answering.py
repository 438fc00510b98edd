"""Answering one question in Slack: claim it, show 👀, search, write, post in the thread, clean up.

Whose access the search uses depends on where the answer is posted (`common.permissions.access`): in a DM
the asker's, in a channel only what everyone may read. When the asker's access could not be resolved, the
answer says so under it, with a way to link their Confluence account where that would help.

Runs in the worker (`slack_answer`, fed by Pub/Sub) or in process (`kb serve`). Every outcome is visible to
the asker: an answer, a plain "I couldn't find that" naming people who might know, or a plain apology; never
eyes and then nothing. A failure a retry can fix (Chroma, Slack or the LLM unavailable) releases the claim and
is raised so Pub/Sub redelivers; on the last attempt the asker gets the apology instead.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from common.answers.composer import ComposedAnswer, compose_answer
from common.answers.records import answer_events
from common.answers.writer import AnswerWriter
from common.errors import KbError, ServiceUnavailable, SlackUnavailable, WorkInProgress
from common.events.publishers import EventPublisher
from common.infra.claims import Claim, Claims
from common.logs import get_logger, log_context
from common.permissions.access import AccessResolver, conversation_of
from common.search.access_tracking import AccessRecorder
from common.search.retriever import HybridRetriever
from common.slack.account_links import AccountLinks
from common.slack.answer_blocks import answer_message
from common.slack.answer_registry import AnswerRegistry, PostedAnswer
from common.slack.channel_policy import ChannelPolicy
from common.slack.client import email_of
from common.slack.questions import Question
from common.slack.signal_recorder import Rephrasings

log = get_logger(__name__)

HISTORY_MESSAGES = 6
WORKING_REACTION = "eyes"
SORRY = (
    "Sorry, I couldn't answer that just now: the knowledge base is having trouble. "
    "Please ask again in a few minutes."
)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    """`answered`, `not_found`, `duplicate`, `not_for_us`, `failed`."""
    answer_id: str | None = None


class AnswerService:
    def __init__(
        self,
        *,
        slack: WebClient,
        retriever: HybridRetriever,
        writer: AnswerWriter,
        claims: Claims,
        policy: ChannelPolicy,
        access: AccessResolver,
        links: AccountLinks,
        recorder: AccessRecorder | None = None,
        publisher: EventPublisher | None = None,
        registry: AnswerRegistry | None = None,
        rephrasings: Rephrasings | None = None,
    ) -> None:
        self._publisher = publisher
        self._registry = registry
        self._rephrasings = rephrasings
        self._access = access
        self._links = links
        self._slack = slack
        self._retriever = retriever
        self._writer = writer
        self._claims = claims
        self._policy = policy
        self._recorder = recorder

    def answer(self, question: Question, *, last_attempt: bool = True) -> Outcome:
        with log_context(event_id=question.event_id, channel=question.channel):
            return self._answer_in_context(question, last_attempt=last_attempt)

    def _answer_in_context(self, question: Question, *, last_attempt: bool) -> Outcome:
        if not self._policy.answers_in(question.channel, question.channel_type):
            log.info("question_outside_allowed_channels")
            return Outcome("not_for_us")
        history = self._thread_history(question) if question.is_follow_up else []
        if question.is_follow_up and not history:
            log.info("follow_up_in_a_thread_without_the_bot")
            return Outcome("not_for_us")
        claim = self._claims.claim(question.event_id)
        if claim is Claim.DONE:
            log.info("question_already_answered")
            return Outcome("duplicate")
        if claim is Claim.HELD:
            if last_attempt:
                log.warning("question_left_to_the_worker_holding_it")
                return Outcome("duplicate")
            raise WorkInProgress(f"Question {question.event_id} is being answered by another worker.")
        self._react("reactions_add", question)
        try:
            outcome = self._answer(question, history)
        except ServiceUnavailable as exc:
            if not last_attempt:
                self._claims.release(question.event_id)
                self._react("reactions_remove", question)
                log.warning("answer_deferred_for_retry", error=str(exc))
                raise
            log.error("answer_failed", error=str(exc))
            self._apologise(question)
            outcome = Outcome("failed")
        except KbError as exc:
            log.error("answer_failed", error=str(exc), error_type=type(exc).__name__)
            self._apologise(question)
            outcome = Outcome("failed")
        self._react("reactions_remove", question)
        self._complete(question)
        return outcome

    def _complete(self, question: Question) -> None:
        """Once the asker has heard back, no redelivery may answer again. If the claim cannot be marked
        done, the delivery is still acknowledged: the lease matters only to a redelivery; there is none."""
        try:
            self._claims.complete(question.event_id)
        except ServiceUnavailable as exc:
            log.error("question_claim_not_completed", error=str(exc))

    def _answer(self, question: Question, history: Sequence[str]) -> Outcome:
        started = time.perf_counter()
        vector = self._check_rephrasing(question)
        access = self._access.for_slack_user(
            question.user,
            conversation_of(question.channel_type),
            email=lambda: email_of(self._slack, question.user),
        )
        composed = compose_answer(
            retriever=self._retriever,
            writer=self._writer,
            question=question.text,
            ceiling=self._policy.ceiling(question.channel_type),
            reader=access.reader,
            history=history,
        )
        answer_id = uuid.uuid4().hex
        self._record(question, composed, answer_id, latency_ms=(time.perf_counter() - started) * 1000)
        notice = self._links.blocks(access, question.user)
        text, blocks = answer_message(composed, answer_id=answer_id, question=question.text, notice=notice)
        posted = self._post(question, text=text, blocks=blocks)
        self._remember(question, answer_id, posted, composed, vector)
        if not composed.found:
            log.info("question_not_answered", results=len(composed.results), writer=composed.answer.writer)
            return Outcome("not_found")
        if self._recorder is not None:
            self._recorder.record(composed.shown(), source="slack", query_id=answer_id)
        log.info(
            "question_answered",
            answer_id=answer_id,
            cited=list(composed.answer.cited),
            writer=composed.answer.writer,
        )
        return Outcome("answered", answer_id)

    def _record(
        self, question: Question, composed: ComposedAnswer, answer_id: str, *, latency_ms: float
    ) -> None:
        if self._publisher is None:
            return
        self._publisher.publish(
            answer_events(
                composed,
                question_id=question.event_id,
                answer_id=answer_id,
                user_id=question.user,
                channel_type=question.channel_type,
                question=question.text,
                latency_ms=latency_ms,
                source="slack",
            )
        )

    def _check_rephrasing(self, question: Question) -> tuple[float, ...]:
        """Signals are analytics: failing to check one is logged and never stops the answer."""
        if self._rephrasings is None:
            return ()
        try:
            return self._rephrasings.check(question)
        except (KbError, OSError) as exc:
            log.warning("rephrase_not_checked", error=str(exc))
            return ()

    def _remember(
        self,
        question: Question,
        answer_id: str,
        posted: Any,
        composed: ComposedAnswer,
        vector: tuple[float, ...],
    ) -> None:
        """So reactions and replies on the message can be told apart from others; best effort, logged."""
        if self._registry is None:
            return
        try:
            self._registry.remember(
                PostedAnswer(
                    answer_id=answer_id,
                    question_id=question.event_id,
                    channel=question.channel,
                    ts=str(posted.get("ts", "")) if posted is not None else "",
                    thread_ts=question.thread_ts,
                    asker=question.user,
                    cited_chunk_ids=tuple(composed.cited_chunk_ids()),
                    asked_at=time.time(),
                    question_vector=vector,
                )
            )
        except (KbError, OSError) as exc:
            log.warning("answer_not_registered_for_signals", answer_id=answer_id, error=str(exc))

    def _thread_history(self, question: Question) -> list[str]:
        """Earlier messages of the thread, oldest first, if the bot took part in it; else nothing."""
        try:
            replies = self._call(
                "conversations_replies", channel=question.channel, ts=question.thread_ts, limit=50
            )
        except ServiceUnavailable:
            raise
        except KbError as exc:
            log.warning("thread_not_readable", error=str(exc))
            return []
        messages = [m for m in replies.get("messages") or [] if m.get("ts") != question.ts]
        if not any(m.get("user") == self._bot_user_id or m.get("bot_id") for m in messages):
            return []
        return [str(m.get("text", "")) for m in messages][-HISTORY_MESSAGES:]

    @cached_property
    def _bot_user_id(self) -> str:
        return str(self._call("auth_test").get("user_id", ""))

    def _post(self, question: Question, *, text: str, blocks: list[dict[str, Any]] | None) -> Any:
        return self._call(
            "chat_postMessage",
            channel=question.channel,
            thread_ts=question.thread_ts,
            text=text[:3000],
            blocks=blocks,
            unfurl_links=False,
        )

    def _apologise(self, question: Question) -> None:
        """When Slack refuses the apology for good (no such channel, no access), so it refused the answer
        too, retrying cannot help: it is logged and the question given up, not raised for a redelivery."""
        try:
            self._post(question, text=SORRY, blocks=None)
        except ServiceUnavailable:
            raise
        except KbError as exc:
            log.error("apology_not_posted", error=str(exc))

    def _react(self, method: str, question: Question) -> None:
        """The 👀 is a courtesy: failing to add or remove it never stops an answer."""
        try:
            getattr(self._slack, method)(
                channel=question.channel, timestamp=question.ts, name=WORKING_REACTION
            )
        except SlackClientError as exc:
            log.info("reaction_not_changed", method=method, error=str(exc))

    def _call(self, method: str, **kwargs: Any) -> Any:
        """slack_sdk already waited out 429s (Retry-After) and retried dropped connections."""
        try:
            return getattr(self._slack, method)(**kwargs)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if exc.response.status_code == 429 or exc.response.status_code >= 500:
                raise SlackUnavailable(
                    f"Slack {method} failed ({error or exc.response.status_code})."
                ) from exc
            raise KbError(
                f"Slack refused {method}: {error}. Check the app's scopes and channel access."
            ) from exc
        except SlackClientError as exc:
            raise SlackUnavailable(f"Slack {method} could not be reached: {exc}") from exc
