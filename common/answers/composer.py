"""From a question to a cited answer: search within a classification ceiling, then write from the passages.

Shared by the Slack worker and `kb ask`, so what the terminal prints is exactly what the bot would post.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from common.answers.writer import Answer, AnswerWriter, Passage
from common.search.filters import SearchFilters
from common.search.retriever import HybridRetriever, SearchResult
from common.store.access import Reader
from common.store.chunk import Classification

TOP_K = 5


@dataclass(frozen=True, slots=True)
class ComposedAnswer:
    answer: Answer
    passages: tuple[Passage, ...]
    results: tuple[SearchResult, ...]
    """The search results behind `passages`, same order (passage n is results[n-1])."""

    @property
    def found(self) -> bool:
        return bool(self.results) and self.answer.grounded

    @property
    def used_restricted(self) -> bool:
        return any(result.restricted for result in self.results)

    def shown(self) -> list[SearchResult]:
        """The results the answer cites (all of them if it cites none), for access counting."""
        cited = [r for n, r in enumerate(self.results, start=1) if n in self.answer.cited]
        return cited or list(self.results)

    def cited_chunk_ids(self) -> list[str]:
        """The chunks behind what the answer cites; none for a no-answer."""
        return [c for r in self.shown() for c in r.chunk_ids] if self.found else []


@dataclass(frozen=True, slots=True)
class Retrieved:
    """The passages an answer will be written from, before any writer has run."""

    passages: tuple[Passage, ...]
    results: tuple[SearchResult, ...]

    def answered(self, answer: Answer) -> ComposedAnswer:
        return ComposedAnswer(answer=answer, passages=self.passages, results=self.results)


def retrieve(
    *,
    retriever: HybridRetriever,
    question: str,
    ceiling: Classification,
    reader: Reader,
    history: Sequence[str] = (),
) -> Retrieved:
    """Follow-ups search with the last two thread messages too: "and from a hotel?" needs its context.
    `reader` is whoever will see the answer (`common.permissions.access`), not necessarily the asker."""
    query = " ".join([*history[-2:], question]) if history else question
    results = retriever.search(
        query, top_k=TOP_K, filters=SearchFilters(max_classification=ceiling), reader=reader
    )
    passages = tuple(
        Passage(number=n, text=r.text, title=r.page_title, url=r.url, chunk_ids=r.chunk_ids)
        for n, r in enumerate(results, start=1)
    )
    return Retrieved(passages=passages, results=tuple(results))


def compose_answer(
    *,
    retriever: HybridRetriever,
    writer: AnswerWriter,
    question: str,
    ceiling: Classification,
    reader: Reader,
    history: Sequence[str] = (),
) -> ComposedAnswer:
    """Search, then write the whole answer from what was found (`retrieve`)."""
    retrieved = retrieve(
        retriever=retriever, question=question, ceiling=ceiling, reader=reader, history=history
    )
    return retrieved.answered(writer.write(question=question, passages=retrieved.passages, history=history))
