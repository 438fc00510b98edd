"""Golden questions: questions people really ask, with the pages that answer them, scored end to end.

BEIR collections measure retrieval on someone else's documents; a golden-questions file measures the product
on the company's own space, the way an employee meets it: page-level hit@k and MRR@5 of the search behind an
answer, whether the answer cites an expected page, and whether the bot declines what the space cannot answer.
A question matches an expected page when the entry equals the page id or the page URL, so a file can be
written from links people paste as easily as from ids. Nothing here knows how an answer is produced: the
wiring passes an `AnswerProbe` (`common.runtime.evaluation.build_answer_probe`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from common.errors import GoldenQuestionsError
from common.events.model import EvalResult

if TYPE_CHECKING:
    from common.answers.composer import ComposedAnswer

KEYS = frozenset({"question", "expected_pages", "expect_decline"})
DEPTH = 5
"""Hit and MRR look at the first five distinct pages, about what an answer and its sources show."""


@dataclass(frozen=True, slots=True)
class GoldenQuestion:
    question: str
    expected_pages: tuple[str, ...]
    """Page ids or URLs, any of which answers the question; empty only when `expect_decline`."""
    expect_decline: bool


@dataclass(frozen=True, slots=True)
class Probe:
    """What one question produced."""

    ranked_pages: tuple[tuple[str, str], ...]
    """(page_id, url) of the search results, best first, each page once."""
    cited_pages: tuple[tuple[str, str], ...]
    """(page_id, url) of the pages the answer cites."""
    declined: bool
    """The bot said it could not find an answer."""


class AnswerProbe(Protocol):
    def __call__(self, question: str) -> Probe: ...


@dataclass(frozen=True, slots=True)
class QuestionResult:
    question: GoldenQuestion
    rank: int | None
    """1-based rank of the first expected page among the distinct ranked pages; None when absent."""
    cited: bool
    declined: bool
    ranked_page_ids: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question.question,
            "expected_pages": list(self.question.expected_pages),
            "expect_decline": self.question.expect_decline,
            "rank": self.rank,
            "cited": self.cited,
            "declined": self.declined,
            "ranked_pages": list(self.ranked_page_ids),
        }


@dataclass(frozen=True, slots=True)
class GoldenScores:
    """Hit, MRR and cited are over the questions with `expect_decline` false, declined over the others;
    each is None when the file has no question it applies to, rather than a 0 that reads as a failure."""

    hit_at_1: float | None
    hit_at_3: float | None
    hit_at_5: float | None
    mrr_at_5: float | None
    cited: float | None
    declined: float | None
    per_question: tuple[QuestionResult, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            **{name: _rounded(value) for name, value in self.metrics().items()},
            "questions": [result.as_dict() for result in self.per_question],
        }

    def metrics(self) -> dict[str, float | None]:
        """The summary figures under the names the CLI's flags and `--json` use."""
        return {
            "hit@1": self.hit_at_1,
            "hit@3": self.hit_at_3,
            "hit@5": self.hit_at_5,
            "mrr@5": self.mrr_at_5,
            "cited": self.cited,
            "declined": self.declined,
        }


def load_golden_questions(path: Path) -> list[GoldenQuestion]:
    """One JSON object a line; blank lines are skipped. Unknown keys are refused, because a misspelt
    `expect_decline` would otherwise turn a decline check silently into a retrieval check."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise GoldenQuestionsError(
            f"{path} does not exist: give the path of a golden-questions file."
        ) from exc
    questions = [
        _parse(line, where=f"{path}:{number}") for number, line in enumerate(lines, start=1) if line.strip()
    ]
    if not questions:
        raise GoldenQuestionsError(f"{path} has no questions: add one JSON object a line.")
    return questions


def score_golden(questions: Sequence[GoldenQuestion], probe: AnswerProbe) -> GoldenScores:
    results = tuple(_result(question, probe(question.question)) for question in questions)
    answerable = [r for r in results if not r.question.expect_decline]
    unanswerable = [r for r in results if r.question.expect_decline]
    return GoldenScores(
        hit_at_1=_share(answerable, lambda r: r.rank is not None and r.rank <= 1),
        hit_at_3=_share(answerable, lambda r: r.rank is not None and r.rank <= 3),
        hit_at_5=_share(answerable, lambda r: r.rank is not None and r.rank <= DEPTH),
        mrr_at_5=_mean(answerable, lambda r: 1.0 / r.rank if r.rank is not None and r.rank <= DEPTH else 0.0),
        cited=_share(answerable, lambda r: r.cited),
        declined=_share(unanswerable, lambda r: r.declined),
        per_question=results,
    )


def below_minimums(scores: GoldenScores, minimums: Mapping[str, float]) -> list[str]:
    """One sentence per metric under its minimum (keys as in `GoldenScores.metrics`). A metric the file
    cannot measure fails its minimum: a CI gate that passes on nothing would hide a broken file."""
    measured = scores.metrics()
    problems = []
    for name, minimum in minimums.items():
        value = measured[name]
        if value is None:
            problems.append(f"{name} could not be measured (no question in the file it applies to).")
        elif value < minimum:
            problems.append(f"{name} is {value:.4f}, below the minimum {minimum:.4f}.")
    return problems


def golden_event(scores: GoldenScores, *, path: Path, run_id: str) -> EvalResult:
    """The run as one `EvalResult`, so reports can follow the product's own quality across runs."""
    return EvalResult(
        run_id=run_id,
        dataset=f"golden:{path.name}",
        mode="hybrid",
        queries=len(scores.per_question),
        hit_at_1=scores.hit_at_1,
        hit_at_3=scores.hit_at_3,
        hit_at_5=scores.hit_at_5,
        mrr_at_5=scores.mrr_at_5,
        cited=scores.cited,
        declined=scores.declined,
    )


def probe_of(composed: ComposedAnswer) -> Probe:
    """What a composed answer shows: its results' pages in order, the pages behind its citations, and
    whether it declined (no results, or a writer that found nothing answering)."""
    ranked: dict[str, str] = {}
    for result in composed.results:
        ranked.setdefault(result.page_id, result.url)
    cited = {
        composed.results[number - 1].page_id: composed.results[number - 1].url
        for number in composed.answer.cited
        if 0 < number <= len(composed.results)
    }
    return Probe(
        ranked_pages=tuple(ranked.items()),
        cited_pages=tuple(cited.items()),
        declined=not composed.found,
    )


def _parse(line: str, *, where: str) -> GoldenQuestion:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise GoldenQuestionsError(f"{where} is not JSON: {exc.msg}.") from exc
    if not isinstance(record, dict):
        raise GoldenQuestionsError(f'{where} should be a JSON object with a "question".')
    unknown = sorted(set(record) - KEYS)
    if unknown:
        raise GoldenQuestionsError(
            f"{where} has unknown key(s) {', '.join(unknown)}: the keys are {', '.join(sorted(KEYS))}."
        )
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise GoldenQuestionsError(f'{where} needs "question": a non-empty string.')
    decline = record.get("expect_decline", False)
    if not isinstance(decline, bool):
        raise GoldenQuestionsError(f'{where}: "expect_decline" should be true or false.')
    pages = record.get("expected_pages", [])
    if not isinstance(pages, list) or not all(isinstance(p, str) and p.strip() for p in pages):
        raise GoldenQuestionsError(f'{where}: "expected_pages" should be a list of page ids or URLs.')
    if decline and pages:
        raise GoldenQuestionsError(
            f"{where} expects a decline and names expected pages: drop one, the pages would not be scored."
        )
    if not decline and not pages:
        raise GoldenQuestionsError(
            f'{where} needs "expected_pages" (the pages that answer it) or "expect_decline": true.'
        )
    return GoldenQuestion(question=question, expected_pages=tuple(pages), expect_decline=decline)


def _result(question: GoldenQuestion, probe: Probe) -> QuestionResult:
    expected = set(question.expected_pages)
    rank = next(
        (n for n, page in enumerate(probe.ranked_pages, start=1) if _is_expected(page, expected)), None
    )
    return QuestionResult(
        question=question,
        rank=rank,
        cited=any(_is_expected(page, expected) for page in probe.cited_pages),
        declined=probe.declined,
        ranked_page_ids=tuple(page_id for page_id, _ in probe.ranked_pages),
    )


def _is_expected(page: tuple[str, str], expected: set[str]) -> bool:
    page_id, url = page
    return page_id in expected or url in expected


def _share(results: Sequence[QuestionResult], passes: Callable[[QuestionResult], bool]) -> float | None:
    return _mean(results, lambda r: 1.0 if passes(r) else 0.0)


def _mean(results: Sequence[QuestionResult], value: Callable[[QuestionResult], float]) -> float | None:
    if not results:
        return None
    return sum(value(r) for r in results) / len(results)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
