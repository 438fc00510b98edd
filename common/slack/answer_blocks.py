"""The Block Kit message of an answer: the text, numbered sources people can check, feedback buttons.

Sources are numbered 1, 2, 3 in the order the answer first cites them, whatever rank the search gave them.
Slack limits a section's text to 3,000 characters and a message to 50 blocks, so long answers are split at
paragraph, then sentence, boundaries. Each source says where it comes from and whether its owner has
confirmed it lately, because a cited answer is only as trustworthy as what it cites.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from common.answers.composer import ComposedAnswer
from common.answers.writer import NOT_FOUND_TEXT, Answer, Passage
from common.search.retriever import SearchResult
from common.slack.feedback_blocks import SOURCE_LINK_ACTION, AnswerRef, feedback_actions

SECTION_CHARS = 2900
MAX_BLOCKS = 50
MAX_LINK_BUTTONS = 5
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CITATION = re.compile(r"\[(\d+)\]")


def split_text(text: str, limit: int = SECTION_CHARS) -> list[str]:
    """Pieces of at most `limit` characters, cut between paragraphs, else sentences, else words."""
    pieces: list[str] = []
    current = ""
    for unit, joiner in _units(text, limit):
        candidate = f"{current}{joiner}{unit}" if current else unit
        if len(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = unit
    if current:
        pieces.append(current)
    return pieces


def _units(text: str, limit: int) -> list[tuple[str, str]]:
    """(unit, what joins it to the previous one): whole paragraphs where they fit, else their sentences."""
    units: list[tuple[str, str]] = []
    for paragraph in text.split("\n\n"):
        if len(paragraph) <= limit:
            units.append((paragraph, "\n\n"))
            continue
        joiner = "\n\n"
        for sentence in _SENTENCE_END.split(paragraph):
            while len(sentence) > limit:
                cut = sentence.rfind(" ", 0, limit)
                cut = cut if cut > 0 else limit
                units.append((sentence[:cut], joiner))
                sentence, joiner = sentence[cut:].lstrip(), " "
            units.append((sentence, joiner))
            joiner = " "
    return [(unit, joiner) for unit, joiner in units if unit]


class CitationNumbers:
    """The numbers citations are shown with: 1, 2, 3 in the order the answer first cites its passages, the
    same whether the answer is posted whole (numbered from `Answer.cited`, which is that order) or streamed
    (numbered as each citation arrives)."""

    def __init__(self, cited: Sequence[int] = ()) -> None:
        self._shown_as: dict[int, int] = {}
        for number in cited:
            self.shown_as(number)

    def shown_as(self, number: int) -> int:
        return self._shown_as.setdefault(number, len(self._shown_as) + 1)

    def render(self, text: str) -> str:
        """Answer text as Slack shows it: markup characters escaped, citations renumbered. Text streamed
        piece by piece renders the same as whole, since a writer never splits a citation marker."""
        return _CITATION.sub(lambda m: f"[{self.shown_as(int(m[1]))}]", escape_mrkdwn(text))


def answer_blocks(
    *,
    answer: Answer,
    passages: Sequence[Passage],
    results: Sequence[SearchResult],
    answer_id: str,
    question: str,
    notice: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """`notice`: blocks saying what the answer could not include and why (`common.slack.account_links`)."""
    numbers, sources, tail = _sources(
        answer=answer,
        passages=passages,
        results=results,
        answer_id=answer_id,
        question=question,
        notice=notice,
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in split_text(numbers.render(answer.text))
    ]
    blocks += sources
    return blocks[: MAX_BLOCKS - len(tail)] + tail


def streamed_answer_blocks(
    composed: ComposedAnswer, *, answer_id: str, question: str, notice: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """What closes an answer streamed into its thread (`chat.stopStream`'s blocks, shown under the streamed
    text): the sources, buttons and notice `answer_message` has, without the text already there."""
    _, sources, tail = _sources(
        answer=composed.answer,
        passages=composed.passages,
        results=composed.results,
        answer_id=answer_id,
        question=question,
        notice=notice,
    )
    return sources[: MAX_BLOCKS - len(tail)] + tail


def _sources(
    *,
    answer: Answer,
    passages: Sequence[Passage],
    results: Sequence[SearchResult],
    answer_id: str,
    question: str,
    notice: Sequence[dict[str, Any]],
) -> tuple[CitationNumbers, list[dict[str, Any]], list[dict[str, Any]]]:
    """The numbering, the numbered sources, and what every answer ends with (links, feedback, notice)."""
    by_number = {passage.number: (passage, result) for passage, result in zip(passages, results, strict=True)}
    cited = [n for n in answer.cited if n in by_number] or list(by_number)[:3]
    numbers = CitationNumbers(cited)
    sources = [{"type": "context", "elements": [{"type": "mrkdwn", "text": "*Sources*"}]}]
    sources += [_source(numbers.shown_as(n), *by_number[n]) for n in cited]
    links = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": f"Open [{numbers.shown_as(n)}]"},
            "action_id": f"{SOURCE_LINK_ACTION}:{numbers.shown_as(n)}",
            "url": by_number[n][0].url,
            "value": answer_id,
        }
        for n in cited[:MAX_LINK_BUTTONS]
    ]
    ref = AnswerRef(
        answer_id=answer_id,
        question=question,
        cited=tuple(
            (chunk_id, by_number[n][1].page_id) for n in cited for chunk_id in by_number[n][0].chunk_ids
        ),
    )
    tail = [{"type": "actions", "block_id": "kb_sources", "elements": links}, feedback_actions(ref), *notice]
    return numbers, sources, tail


def escape_mrkdwn(text: str) -> str:
    """Slack reads `<…>` as links and mentions: text quoted from pages must not be taken for markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _source(number: int, passage: Passage, result: SearchResult) -> dict[str, Any]:
    parts = [
        f"*[{number}]* <{passage.url}|{escape_mrkdwn(passage.title)}>",
        result.space_key,
        f"owner {result.owner}",
        f"updated {result.updated_at[:10]}",
    ]
    if result.verified:
        parts.append("✅ verified")
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(parts)}]}


def not_found_blocks(text: str, nearest: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Say so plainly and point at people who would know, instead of guessing."""
    lines = [text]
    if nearest:
        owners = ", ".join(f"{owner} ({space})" for space, owner in nearest)
        lines.append(f"The owners of the closest topics might know: {owners}.")
    return [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}]


def answer_message(
    composed: ComposedAnswer, *, answer_id: str, question: str, notice: Sequence[dict[str, Any]] = ()
) -> tuple[str, list[dict[str, Any]]]:
    """The text and blocks of the bot's reply, wherever it is posted (a thread, an ephemeral reply): the
    cited answer with its sources and buttons, or a plain "not found" naming who might know."""
    if not composed.found:
        return NOT_FOUND_TEXT, not_found_blocks(NOT_FOUND_TEXT, _nearest(composed.results)) + list(notice)
    blocks = answer_blocks(
        answer=composed.answer,
        passages=composed.passages,
        results=composed.results,
        answer_id=answer_id,
        question=question,
        notice=notice,
    )
    return composed.answer.text, blocks


def _nearest(results: Sequence[SearchResult]) -> list[tuple[str, str]]:
    """(space, its most frequent owner among the closest results), at most three spaces."""
    owners: dict[str, Counter[str]] = {}
    for result in results:
        owners.setdefault(result.space_key, Counter())[result.owner] += 1
    return [(space, counts.most_common(1)[0][0]) for space, counts in list(owners.items())[:3]]
