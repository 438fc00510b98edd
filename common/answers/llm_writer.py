"""The answer writer for deployments with an LLM: the model rewrites the numbered passages into an answer.

It sees only the passages and the thread so far, must cite passages as `[n]` and must say when they do not
answer. Its reply is checked before anyone reads it, because a confident answer with a citation that points
nowhere does more harm than no answer. Streamed (`write_streaming`), the same reply is checked the same way
once it is whole; what was shown while it was written is only ever text no check can change
(`common.answers.partial_reply`), and a finished reply that does not continue it is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from common.ai.llm import StreamingLlmClient
from common.answers.citations import known_markers
from common.answers.partial_reply import PartialReply
from common.answers.writer import NOT_FOUND_TEXT, Answer, Passage
from common.errors import LlmError

PASSAGES_BUDGET_CHARS = 12_000
"""About 3,000 tokens of passages: enough for five merged passages, small enough for any model's window."""
HISTORY_MESSAGES = 6
HISTORY_MESSAGE_CHARS = 500

SYSTEM_PROMPT = """You answer employees' questions in Slack from their company's knowledge base.
You are given numbered passages from it, and sometimes the earlier messages of the Slack thread.
Rules:
- Answer ONLY from the numbered passages. Never use outside knowledge and never guess.
- Cite each fact with its passage number in square brackets, like [1] or [2][3], right after the fact.
- If the passages do not contain the answer, say so in one sentence and set "grounded" to false.
- The earlier messages only explain what a follow-up question refers to; they are not a source.
- Be brief: at most five sentences or a short list of "• " lines. Plain text: no headings, tables or links.
Reply with a JSON object only, its keys in this order:
{"grounded": boolean, "answer": string, "cited": [the passage numbers you cited]}"""


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    answer: str
    cited: list[int]
    grounded: bool

    @model_validator(mode="after")
    def _grounded_needs_an_answer(self) -> _Reply:
        if self.grounded and not self.answer.strip():
            raise ValueError("grounded is true but the answer is empty")
        return self


class LlmAnswerWriter:
    """Citations of passages that do not exist are stripped rather than refused: models slip on numbering
    more often than they invent whole answers. A grounded answer left citing nothing is refused. `grounded`
    comes first in the reply so a streamed decline is known before any of it could be shown."""

    def __init__(
        self,
        client: StreamingLlmClient,
        *,
        model: str,
        passages_budget_chars: int = PASSAGES_BUDGET_CHARS,
    ) -> None:
        self._client = client
        self._writer = f"llm:{model}"
        self._budget = passages_budget_chars

    def write(self, *, question: str, passages: Sequence[Passage], history: Sequence[str] = ()) -> Answer:
        if not passages:
            return Answer(text=NOT_FOUND_TEXT, cited=(), grounded=False, writer=self._writer)
        raw = self._client.complete_json(system=SYSTEM_PROMPT, user=self._prompt(question, passages, history))
        return self._answer(raw, passages)

    def write_streaming(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[str] = (),
        on_text: Callable[[str], None],
    ) -> Answer:
        if not passages:
            return Answer(text=NOT_FOUND_TEXT, cited=(), grounded=False, writer=self._writer)
        reply = PartialReply({p.number for p in passages})
        for piece in self._client.stream_json(
            system=SYSTEM_PROMPT, user=self._prompt(question, passages, history)
        ):
            released = reply.feed(piece)
            if released:
                on_text(released)
        answer = self._answer(_json_object(reply.text), passages)
        if not answer.text.startswith(reply.shown):
            raise LlmError(
                "The LLM's finished answer does not continue the text already shown while it was written."
            )
        return answer

    def _answer(self, raw: dict[str, Any], passages: Sequence[Passage]) -> Answer:
        try:
            reply = _Reply.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "reply"
            raise LlmError(f"The LLM's answer is unusable: {where!r}: {first['msg']}.") from exc
        numbers = {p.number for p in passages}
        text, cited = _checked_citations(reply.answer.strip(), reply.cited, numbers)
        if reply.grounded and not cited:
            raise LlmError(
                f"The LLM's answer claims to be grounded but cites none of the passages {sorted(numbers)}."
            )
        return Answer(text=text or NOT_FOUND_TEXT, cited=cited, grounded=reply.grounded, writer=self._writer)

    def _prompt(self, question: str, passages: Sequence[Passage], history: Sequence[str]) -> str:
        share = self._budget // len(passages)
        blocks = [f"[{p.number}] {p.title} ({p.url})\n{_truncate(p.text.strip(), share)}" for p in passages]
        parts = []
        earlier = [_truncate(m.strip(), HISTORY_MESSAGE_CHARS) for m in history if m.strip()]
        if earlier:
            lines = "\n".join(f"- {m}" for m in earlier[-HISTORY_MESSAGES:])
            parts.append(f"Earlier messages in this thread, oldest first:\n{lines}")
        parts.append("Passages:\n\n" + "\n\n".join(blocks))
        parts.append(f"Question: {question.strip()}")
        return "\n\n".join(parts)


def _checked_citations(text: str, listed: Sequence[int], numbers: set[int]) -> tuple[str, tuple[int, ...]]:
    """Drop markers of passages that do not exist; passages listed as cited but never marked get a marker at
    the end, so whatever Slack shows as a source is visible in the text too."""

    text = known_markers(text, numbers).strip()
    if not text:
        return "", ()
    used = [int(n) for n in re.findall(r"\[(\d+)\]", text)]
    unmarked = [n for n in dict.fromkeys(listed) if n in numbers and n not in used]
    if unmarked:
        text += " " + "".join(f"[{n}]" for n in unmarked)
    return text, tuple(dict.fromkeys([*used, *unmarked]))


def _json_object(text: str) -> dict[str, Any]:
    """The streamed reply, whole: the same shape `complete_json` insists on."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LlmError(f"The LLM's streamed reply is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise LlmError("The LLM's streamed reply is JSON that is not an object.")
    return parsed


def _truncate(text: str, limit: int) -> str:
    """Cut at a word boundary, marked, so the model knows the passage goes on."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rsplit(" ", 1)[0].rstrip() + "…"
