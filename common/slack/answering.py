"""Answering one question in Slack: claim it, show that the bot is working, search, write, reply in the
thread, clean up.

While it works the bot shows 👀 on the question, or, in a thread of Slack's assistant view (a DM thread),
the thread's status ("Searching the knowledge base…", cleared by Slack when the reply arrives); the first
question of such a thread also names it. With an LLM writer the answer is streamed into the thread as it is
written (`common.slack.answer_stream`); otherwise, or when streaming is off, it is posted whole.

Whose access the search uses depends on where the answer is posted (`common.permissions.access`): in a DM
(an assistant thread is one) the asker's, in a channel only what everyone may read. When the asker's access
could not be resolved, the answer says so under it, with a way to link their Confluence account where that
would help.

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
from slack_sdk.errors import SlackClientError

from common.answers.composer import ComposedAnswer, Retrieved, retrieve
from common.answers.records import answer_events
from common.answers.writer import AnswerWriter
from common.errors import KbError, ServiceUnavailable, WorkInProgress
from common.events.publishers import EventPublisher
from common.infra.claims import Claim, Claims
from common.logs import get_logger, log_context
from common.permissions.access import AccessResolver, conversation_of
from common.search.access_tracking import AccessRecorder
from common.search.retriever import HybridRetriever
from common.slack.account_links import AccountLinks
from common.slack.answer_blocks import answer_message
from common.slack.answer_registry import AnswerRegistry, PostedAnswer
from common.slack.answer_stream import AnswerStreaming
from common.slack.channel_policy import ChannelPolicy
from common.slack.client import email_of, slack_errors
from common.slack.questions import Question
from common.slack.signal_recorder import Rephrasings

log = get_logger(__name__)

HISTORY_MESSAGES = 6
WORKING_REACTION = "eyes"
WORKING_STATUS = "Searching the knowledge base…"
TITLE_CHARS = 80
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
        streaming: AnswerStreaming | None = None,
    ) -> None:
        """`streaming`: stream answers as `streaming.writer` writes them; else `writer` posts them whole."""
        self._streaming = streaming
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
        reads_thread = question.is_follow_up or question.assistant_thread
        history = self._thread_history(question) if reads_thread else []
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
        shown = self._show_working(question, first_in_thread=not history)
        try:
            outcome = self._answer(question, history)
        except ServiceUnavailable as exc:
            if not last_attempt:
                self._claims.release(question.event_id)
                self._stop_working(question, shown, replied=False)
                log.warning("answer_deferred_for_retry", error=str(exc))
                raise
            log.error("answer_failed", error=str(exc))
            self._apologise(question)
            outcome = Outcome("failed")
        except KbError as exc:
            log.error("answer_failed", error=str(exc), error_type=type(exc).__name__)
            self._apologise(question)
            outcome = Outcome("failed")
        self._stop_working(question, shown, replied=True)
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
        retrieved = retrieve(
            retriever=self._retriever,
            question=question.text,
            ceiling=self._policy.ceiling(question.channel_type),
            reader=access.reader,
            history=history,
        )
        answer_id = uuid.uuid4().hex
        notice = self._links.blocks(access, question.user)
        composed, posted = self._reply(question, retrieved, history, answer_id=answer_id, notice=notice)
        self._record(question, composed, answer_id, latency_ms=(time.perf_counter() - started) * 1000)
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
            streamed=self._streaming is not None,
        )
        return Outcome("answered", answer_id)

    def _reply(
        self,
        question: Question,
        retrieved: Retrieved,
        history: Sequence[str],
        *,
        answer_id: str,
        notice: Sequence[dict[str, Any]],
    ) -> tuple[ComposedAnswer, Any]:
        """Write the answer and deliver it: streamed as it is written, or posted whole once it is."""

        def post(text: str, blocks: list[dict[str, Any]]) -> Any:
            return self._post(question, text=text, blocks=blocks)

        if self._streaming is not None:
            return self._streaming.answer(
                self._slack,
                question,
                retrieved,
                history=history,
                answer_id=answer_id,
                notice=notice,
                post=post,
            )
        composed = retrieved.answered(
            self._writer.write(question=question.text, passages=retrieved.passages, history=history)
        )
        return composed, post(
            *answer_message(composed, answer_id=answer_id, question=question.text, notice=notice)
        )

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

    def _show_working(self, question: Question, *, first_in_thread: bool) -> str:
        """`status` in an assistant thread (named after its first question), else `reaction` (👀). Both
        are courtesies: a refusal is logged, and a refused status falls back to the reaction."""
        if question.assistant_thread:
            if first_in_thread:
                self._courtesy(
                    "assistant_threads_setTitle",
                    channel_id=question.channel,
                    thread_ts=question.thread_ts,
                    title=question.text[:TITLE_CHARS],
                )
            if self._courtesy(
                "assistant_threads_setStatus",
                channel_id=question.channel,
                thread_ts=question.thread_ts,
                status=WORKING_STATUS,
            ):
                return "status"
        self._courtesy(
            "reactions_add", channel=question.channel, timestamp=question.ts, name=WORKING_REACTION
        )
        return "reaction"

    def _stop_working(self, question: Question, shown: str, *, replied: bool) -> None:
        """Slack clears a thread's status when the bot replies in it; without a reply it is cleared here."""
        if shown == "reaction":
            self._courtesy(
                "reactions_remove", channel=question.channel, timestamp=question.ts, name=WORKING_REACTION
            )
        elif not replied:
            self._courtesy(
                "assistant_threads_setStatus",
                channel_id=question.channel,
                thread_ts=question.thread_ts,
                status="",
            )

    def _courtesy(self, method: str, **kwargs: Any) -> bool:
        """A call whose failure never stops an answer; returns whether Slack took it."""
        try:
            getattr(self._slack, method)(**kwargs)
        except SlackClientError as exc:
            log.info("courtesy_call_refused", method=method, error=str(exc))
            return False
        return True

    def _call(self, method: str, **kwargs: Any) -> Any:
        """slack_sdk already waited out 429s (Retry-After) and retried dropped connections."""
        with slack_errors(method):
            return getattr(self._slack, method)(**kwargs)
