"""An answer streamed into its thread while the LLM writes it: `chat.startStream`, `chat.appendStream`…,
`chat.stopStream`, through slack_sdk's `ChatStream`, which buffers the text so a stream costs a few calls.

The text is rendered as a posted answer's is (`CitationNumbers`: escaped, sources numbered by first use) and
the stop adds the same sources, buttons and notice (`streamed_answer_blocks`), so a streamed answer ends as
the posted one reads. What the asker may see was settled before writing began: the passages were searched
with the reader of the conversation (`common.permissions.access`), so a stream shows nothing a posted
answer could not. Slack's refusals are met where the asker is best served:

- the stream cannot start for good (streaming not available to the app, a bad channel): nothing was shown,
  so the writing goes on unseen and the answer is posted whole;
- it cannot start *now* (429 or 5xx left after slack_sdk's retries): raised, as a failed post is, before
  anything was shown, so the question is delivered again;
- an append is refused: what it carried stays in the buffer and goes with the stop, so a rate limit delays
  words and never loses them;
- the LLM fails after its first words were shown, or its finished reply fails the checks: the stream stops
  saying the text above is incomplete, followed by the extractive writer's answer from the same passages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient

from common.answers.composer import ComposedAnswer, Retrieved
from common.answers.writer import AnswerWriter, StreamingAnswerWriter
from common.errors import KbError, LlmError, SlackUnavailable
from common.logs import get_logger
from common.slack.answer_blocks import CitationNumbers, answer_message, streamed_answer_blocks
from common.slack.client import slack_errors
from common.slack.questions import Question

log = get_logger(__name__)

BUFFER_CHARS = 256
"""Text gathered before each append (slack_sdk's default): a few calls per answer, well inside the rate limit
of `chat.appendStream`, and a first sentence on screen within a second or two of writing."""
BROKEN_OFF = (
    "\n\n_The language model stopped before finishing, so the text above is incomplete. "
    "Here is what the pages themselves say:_"
)

Post = Callable[[str, list[dict[str, Any]]], Any]
"""(text, blocks) posted whole in the question's thread; returns Slack's reply (with its `ts`)."""


class StreamedAnswer:
    """One streaming message; `append` takes the answer's text as the writer releases it."""

    def __init__(self, slack: WebClient, question: Question, *, buffer_chars: int = BUFFER_CHARS) -> None:
        self._stream = slack.chat_stream(
            channel=question.channel,
            thread_ts=question.thread_ts,
            recipient_team_id=question.team_id or None,
            recipient_user_id=question.user,
            buffer_size=buffer_chars,
        )
        self._numbers = CitationNumbers()
        self._taken = ""
        """The answer text taken so far, as the writer wrote it."""
        self._held = ""
        """Rendered text kept for the stop, once an append was refused."""
        self._appends_refused = False
        self._start_refused = False

    @property
    def started(self) -> bool:
        """Whether Slack shows the message (the first buffer-full started it)."""
        return self._stream.ts is not None

    def append(self, text: str) -> None:
        self._taken += text
        if self._start_refused:
            return
        rendered = self._numbers.render(text)
        if self._appends_refused:
            self._held += rendered
            return
        method = "chat.appendStream" if self.started else "chat.startStream"
        try:
            with slack_errors(method):
                self._stream.append(markdown_text=rendered)
        except SlackUnavailable as exc:
            if not self.started:
                raise
            self._appends_refused = True
            log.warning("answer_stream_append_refused", error=str(exc))
        except KbError as exc:
            if self.started:
                self._appends_refused = True
                log.warning("answer_stream_append_refused", error=str(exc))
            else:
                self._start_refused = True
                log.warning("answer_stream_not_started", error=str(exc))

    def rest_of(self, text: str) -> str:
        """What of the finished answer `text` was not taken yet (the writer shows only its start)."""
        return text[len(self._taken) :]

    def stop(self, *, text: str, blocks: Sequence[dict[str, Any]]) -> Any:
        """End the message with `text` (answer text still to show, as the writer wrote it) and `blocks`."""
        rendered = self._held + self._numbers.render(text)
        with slack_errors("chat.stopStream"):
            return self._stream.stop(markdown_text=rendered, blocks=list(blocks))

    def break_off(self, *, blocks: Sequence[dict[str, Any]]) -> Any:
        """End the message saying that the text shown is incomplete, followed by `blocks`."""
        with slack_errors("chat.stopStream"):
            return self._stream.stop(markdown_text=self._held + BROKEN_OFF, blocks=list(blocks))


@dataclass(frozen=True, slots=True)
class AnswerStreaming:
    """Answers streamed into their thread as the LLM writes them (`SLACK_STREAM_ANSWERS` with an LLM)."""

    writer: StreamingAnswerWriter
    fallback: AnswerWriter
    """Writes from the same passages when the LLM fails after its first words were shown (extractive)."""
    buffer_chars: int = BUFFER_CHARS

    def answer(
        self,
        slack: WebClient,
        question: Question,
        retrieved: Retrieved,
        *,
        history: Sequence[str],
        answer_id: str,
        notice: Sequence[dict[str, Any]],
        post: Post,
    ) -> tuple[ComposedAnswer, Any]:
        """The answer written and delivered, and Slack's reply for the message that holds it. An LLM failure
        before anything was shown is raised, as it is for a posted answer."""
        stream = StreamedAnswer(slack, question, buffer_chars=self.buffer_chars)
        try:
            answer = self.writer.write_streaming(
                question=question.text, passages=retrieved.passages, history=history, on_text=stream.append
            )
        except LlmError as exc:
            if not stream.started:
                raise
            log.error("answer_stream_broken_off", error=str(exc), error_type=type(exc).__name__)
            composed = retrieved.answered(
                self.fallback.write(question=question.text, passages=retrieved.passages, history=history)
            )
            _, blocks = answer_message(composed, answer_id=answer_id, question=question.text, notice=notice)
            return composed, stream.break_off(blocks=blocks)
        composed = retrieved.answered(answer)
        if not stream.started:
            return composed, post(
                *answer_message(composed, answer_id=answer_id, question=question.text, notice=notice)
            )
        if not composed.found:
            _, blocks = answer_message(composed, answer_id=answer_id, question=question.text, notice=notice)
            return composed, stream.stop(text="", blocks=blocks)
        blocks = streamed_answer_blocks(composed, answer_id=answer_id, question=question.text, notice=notice)
        return composed, stream.stop(text=stream.rest_of(answer.text), blocks=blocks)
