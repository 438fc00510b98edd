"""Judging one answer against its passages: groundedness, relevance and completeness, each in [0, 1].

Groundedness asks whether the passages support what the answer says, relevance whether the passages are about
the question, completeness whether the answer addresses the question as a whole. The nightly evaluation uses
an LLM as the judge when one is configured and otherwise the offline judge, which needs only the embedding
model search already loads. Both answer through one protocol, and `name` says which one scored a row, because
their scales differ and a trend must not mix them unnoticed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from common.ai.embeddings import Embedder, Vectors
from common.ai.llm import LlmClient
from common.errors import LlmError

SUPPORT_FLOOR = 0.5
"""Cosine at or below which a passage sentence does not support an answer sentence at all: sentences about
another topic score ~0.1-0.55 against each other on the bundled model (chosen on the sample space)."""
SUPPORT_FULL = 0.8
"""Cosine from which an answer sentence counts as fully supported: a faithful paraphrase scores ~0.85-0.9."""
ABOUT_FLOOR = 0.15
"""Question-to-passage cosine at or below which a passage is not about the question (other topics ~0-0.15)."""
ABOUT_FULL = 0.45
"""Question-to-passage cosine from which a passage is wholly about the question (the answering page: ~0.5)."""
ADDRESSES_FLOOR = 0.2
"""Question-to-answer cosine at or below which the answer does not address the question."""
ADDRESSES_FULL = 0.6
"""Question-to-answer cosine from which the answer addresses the whole question (good answers: ~0.55-0.8)."""

_CITATION = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_BULLET = re.compile(r"^\s*(?:[-*•◦]|\d{1,3}[.)])\s+")

Sentences = Callable[[str], list[str]]
"""Splits a line of prose into sentences; the wiring passes the answer writer's own splitter, so a quoted
sentence is judged whole, exactly as it was quoted."""


@dataclass(frozen=True, slots=True)
class Judgement:
    groundedness: float
    relevance: float
    completeness: float


class AnswerJudge(Protocol):
    @property
    def name(self) -> str:
        """`offline` or `llm:<model>`, stored with every judged answer."""
        ...

    def judge(self, *, question: str, answer: str, passages: Sequence[str]) -> Judgement:
        """`answer` is the text people were shown, citations included; `passages` are what it was written
        from, in citation order. Only answers that were given are judged, never a decline."""
        ...


class OfflineJudge:
    """Sentence-level support: each sentence of the answer is matched to its closest passage sentence, so one
    invented sentence among quoted ones costs its share and no more. Similarities become scores through linear
    ramps between a floor and a full mark, because raw cosines of unrelated texts are not 0 and a perfect
    paraphrase is not 1. Completeness is how closely the whole answer matches the question, a proxy: an
    embedding cannot list what a question asks for. Nor can it tell a negated or altered number from the
    original, so this judge catches answers about the wrong thing, not subtle errors; the LLM judge reads
    them."""

    name = "offline"

    def __init__(self, embedder: Embedder, *, sentences: Sentences) -> None:
        self._embedder = embedder
        self._sentences = sentences

    def judge(self, *, question: str, answer: str, passages: Sequence[str]) -> Judgement:
        """An answer that states nothing is supported by nothing and answers nothing (0); no passages are
        about nothing (relevance 0)."""
        claims = self._units(answer)
        evidence = [unit for passage in passages for unit in self._units(passage)]
        # Two batches: padded together, every sentence would cost as much as a whole passage.
        passage_vectors = self._embedder.embed(passages)
        vectors = self._embedder.embed([question, " ".join(claims), *claims, *evidence])
        head, claim_vectors, evidence_vectors = np.split(vectors, [2, 2 + len(claims)])
        asked, answered = head[0], head[1:]
        grounded = 0.0
        if claims and evidence:
            grounded = _mean_ramp(
                (claim_vectors @ evidence_vectors.T).max(axis=1), SUPPORT_FLOOR, SUPPORT_FULL
            )
        return Judgement(
            groundedness=grounded,
            relevance=_mean_ramp(passage_vectors @ asked, ABOUT_FLOOR, ABOUT_FULL) if passages else 0.0,
            completeness=_mean_ramp(answered @ asked, ADDRESSES_FLOOR, ADDRESSES_FULL) if claims else 0.0,
        )

    def _units(self, text: str) -> list[str]:
        """Lines first (list items and table rows stand alone), then sentences; citation markers and bullets
        are the answer's form, not its claims."""
        units: list[str] = []
        for line in text.splitlines():
            plain = _BULLET.sub("", _CITATION.sub("", line)).strip()
            if plain:
                units.extend(sentence for sentence in self._sentences(plain) if sentence.strip())
        return units


def _mean_ramp(similarity: Vectors, floor: float, full: float) -> float:
    return round(float(np.clip((similarity - floor) / (full - floor), 0.0, 1.0).mean()), 4)


PASSAGES_BUDGET_CHARS = 12_000
"""The same budget the LLM answer writer gives its passages: the judge reads what the writer read."""

JUDGE_PROMPT = """You grade answers that a company's knowledge-base bot gave to employees' questions.
You are given the question, the numbered passages the bot answered from, and the bot's answer.
Score three things, each a number from 0 to 1:
- "groundedness": the share of what the answer states that the passages support. Facts from outside the
  passages, or that contradict them, lower it, however true they may be.
- "relevance": how much the passages are about the question (0: another topic, 1: all on the question).
- "completeness": how fully the answer answers the question, given what the passages say (0: not at all,
  1: nothing the passages offer on the question is missing).
Reply with a JSON object only: {"groundedness": number, "relevance": number, "completeness": number}"""

_METRICS = ("groundedness", "relevance", "completeness")


class LlmJudge:
    """The reply is checked strictly: three numbers in [0, 1] under their names. A missing score, a string, a
    boolean or a score out of range raises `LlmError` instead of being clipped or defaulted, because a judge
    that half answered must not move a quality trend. Other keys (a model's own "reason") are ignored."""

    def __init__(
        self, client: LlmClient, *, model: str, passages_budget_chars: int = PASSAGES_BUDGET_CHARS
    ) -> None:
        self._client = client
        self._name = f"llm:{model}"
        self._budget = passages_budget_chars

    @property
    def name(self) -> str:
        return self._name

    def judge(self, *, question: str, answer: str, passages: Sequence[str]) -> Judgement:
        reply = self._client.complete_json(system=JUDGE_PROMPT, user=self._prompt(question, answer, passages))
        scores = {metric: _score(reply, metric) for metric in _METRICS}
        return Judgement(**scores)

    def _prompt(self, question: str, answer: str, passages: Sequence[str]) -> str:
        numbered: list[str] = []
        room = self._budget
        for number, text in enumerate(passages, start=1):
            piece = text[:room]
            if not piece:
                break
            numbered.append(f"[{number}] {piece}")
            room -= len(piece)
        return f"Question: {question}\n\nPassages:\n" + "\n\n".join(numbered) + f"\n\nAnswer:\n{answer}"


def _score(reply: dict[str, object], metric: str) -> float:
    value = reply.get(metric)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LlmError(
            f"The LLM judge's reply has no number for {metric!r} (got {value!r}); check that LLM_MODEL "
            "follows JSON instructions."
        )
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise LlmError(f"The LLM judge scored {metric!r} {value!r}, outside 0 to 1; its reply is unusable.")
    return float(value)
