"""What an answer writer is given and what it returns, whichever implementation runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

NOT_FOUND_TEXT = (
    "I could not find an answer to that in the knowledge base. "
    "Try rephrasing the question, or ask in the channel that owns the topic."
)
"""Shown when a writer declines: saying so plainly beats quoting passages that do not answer."""


@dataclass(frozen=True, slots=True)
class Passage:
    number: int
    """The 1-based citation number the answer uses as `[number]`."""
    text: str
    title: str
    url: str
    chunk_ids: tuple[str, ...]
    """The chunks behind the passage, so feedback on a citation reaches the right chunks."""


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    """Plain text that reads well as Slack mrkdwn, with inline citations such as `[1]`."""
    cited: tuple[int, ...]
    """Citation numbers that appear in `text`, in order of first use."""
    grounded: bool
    """False when the writer declined because the passages do not answer the question."""
    writer: str
    """"offline" or "llm:<model>", so answers and their feedback can be compared by writer."""


class AnswerWriter(Protocol):
    """Turns retrieved passages into a short cited answer; the retriever has already chosen them."""

    def write(self, *, question: str, passages: Sequence[Passage], history: Sequence[str] = ()) -> Answer:
        """`history` holds earlier messages of the thread, oldest first, for follow-up questions."""
        ...


class StreamingAnswerWriter(AnswerWriter, Protocol):
    """A writer that can show its answer while it is still writing it (the LLM writer)."""

    def write_streaming(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[str] = (),
        on_text: Callable[[str], None],
    ) -> Answer:
        """The same answer `write` returns, checked the same way; while it is written, `on_text` gets each
        piece of `Answer.text` as soon as nothing can change it any more, so what was shown is always the
        start of the returned text. Raises as `write` does, also after some text was shown."""
        ...
