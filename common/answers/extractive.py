"""The offline answer writer: quotes the passage sentences closest in meaning to the question.

Nothing is generated, so nothing can be invented: every line of an answer is a sentence, list item, table row
or code line of the passage it cites. It needs only the embedding model search already loads.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from common.ai.embeddings import Embedder, Vectors
from common.answers.writer import NOT_FOUND_TEXT, Answer, Passage

DEFAULT_MIN_SIMILARITY = 0.40
"""Below this cosine the best sentence does not answer the question (chosen on the sample space)."""
SUPPORT_MARGIN = 0.15
"""Sentences after the second must be this close to the best one, so weak ones do not pad the answer."""
DUPLICATE_SIMILARITY = 0.9
"""Pages repeat each other (an FAQ and the page it summarises); a near-copy adds length, not facts."""
MAX_ANSWER_CHARS = 900
MAX_UNITS = 4
MAX_UNIT_CHARS = 400
"""Longer "sentences" are run-ons or flattened tables that cannot be quoted whole."""
MIN_CHARS = 20
MIN_ITEM_WORDS = 4
"""Shorter list items are links to other pages ("Public Holidays 2026"), not statements."""

UnitKind = Literal["sentence", "item", "code"]

_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "cf", "vs", "approx", "incl", "fig", "dept", "mr", "mrs", "ms", "dr", "prof", "jr", "sr"}
    | {"a.m", "p.m", "u.s", "u.k", "inc", "ltd"}
)
_SENTENCE_END = re.compile("[.!?][\"'\u201d\u2019)\\]]*\\s+(?=[\"'\u201c\u2018(\\[]?[A-Z0-9])")
_LIST_MARKER = re.compile(r"^\s*(?:[-*•◦]|\d{1,3}[.)]|[a-z][.)])\s+(?:\[[ xX]\]\s+)?")
_SHELL_LINE = re.compile(r"^[#$>] ")
_CODE_HINT = re.compile(r"[{};=\\]|\s--?[a-z]|/\w+/|\(\)")
_EMPHASIS = re.compile(r"\*\*|`")
_SPACES = re.compile(r"\s+")
_POINTER = re.compile(
    r"^(?i:see|continue with|full steps|details (are )?in)\b"
    r"|\b(?i:details|rules|steps|instructions|troubleshooting|information|how to)\b[^.]*\b(is|are) in [A-Z]"
    r"|\b(above|below)\W*$"
    r"|^[A-Z][\w ()&,'/-]{2,60} — [a-z][^.]*$"
)
"""Navigation ("See Expenses.", "Full steps are below.", a contents entry "VPN Setup — connecting from home")
shares every word of a question and answers none of it; the sources under the answer link the pages anyway."""


@dataclass(frozen=True, slots=True)
class _Unit:
    passage: Passage
    position: int
    kind: UnitKind
    text: str

    def rendered(self) -> str:
        cite = f"[{self.passage.number}]"
        if self.kind == "item":
            return f"• {self.text} {cite}"
        if self.kind == "code":
            return f"`{self.text}` {cite}"
        return f"{self.text} {cite}"


class ExtractiveWriter:
    """History is not used: scoring sentences against earlier messages drifts answers back to the old topic,
    and the retriever has already chosen passages for the follow-up."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        min_similarity: float = DEFAULT_MIN_SIMILARITY,
        max_chars: int = MAX_ANSWER_CHARS,
    ) -> None:
        self._embedder = embedder
        self._min_similarity = min_similarity
        self._max_chars = max_chars

    def write(self, *, question: str, passages: Sequence[Passage], history: Sequence[str] = ()) -> Answer:
        units = [unit for passage in passages for unit in _units(passage)]
        if not units or not question.strip():
            return _declined()
        similarity, vectors = self._similarity(question, units)
        chosen = self._choose(units, similarity, vectors)
        if not chosen:
            return _declined()
        return _compose([units[i] for i in chosen], similarity[chosen])

    def _similarity(self, question: str, units: list[_Unit]) -> tuple[Vectors, Vectors]:
        """Each unit is scored alone and under its page title, averaged: alone, "Friday, 08:00-12:00" misses
        a question about the deploy window; titled, every sentence of the right page looks equally good."""
        n = len(units)
        vectors = self._embedder.embed(
            [
                question,
                *(unit.text for unit in units),
                *(f"{unit.passage.title}: {unit.text}" for unit in units),
            ]
        )
        similarity = (vectors[1 : n + 1] @ vectors[0] + vectors[n + 1 :] @ vectors[0]) / 2
        return similarity, vectors[1 : n + 1]

    def _choose(self, units: list[_Unit], similarity: Vectors, vectors: Vectors) -> list[int]:
        ranked = [int(i) for i in np.argsort(-similarity, kind="stable")]
        best = float(similarity[ranked[0]])
        chosen: list[int] = []
        length = -1  # the first unit needs no separator
        for i in ranked:
            floor = (
                self._min_similarity if len(chosen) < 2 else max(self._min_similarity, best - SUPPORT_MARGIN)
            )
            if len(chosen) == MAX_UNITS or similarity[i] < floor:
                break
            if any(float(vectors[i] @ vectors[j]) >= DUPLICATE_SIMILARITY for j in chosen):
                continue
            added = len(units[i].rendered()) + 1
            if length + added <= self._max_chars:
                chosen.append(i)
                length += added
        return chosen


def split_sentences(text: str) -> list[str]:
    """Split prose at sentence ends, but not after abbreviations ("e.g. Slack") or initials ("J. Smith")."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        words = text[start : match.start() + 1].split()
        last = words[-1].lower().rstrip(".") if words else ""
        if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


def _units(passage: Passage) -> list[_Unit]:
    """Lines are boundaries: list items, table rows and code stay whole; prose splits into sentences."""
    found: list[tuple[UnitKind, str]] = []
    header: list[str] | None = None
    for raw in passage.text.splitlines():
        line = _clean(raw)
        if " | " in line:
            cells = [cell.strip() for cell in line.split(" | ")]
            if header is None:
                header = cells
            else:
                found.append(("item", _labelled(header, cells)))
            continue
        header = None
        item = _LIST_MARKER.match(raw)
        if item:
            found.extend(_pieces("item", _clean(raw[item.end() :])))
        elif _SHELL_LINE.match(line) or (line[-1:] not in '.!?”"' and _CODE_HINT.search(line)):
            found.append(("code", line))
        else:
            found.extend(_pieces("sentence", line))
    return [
        _Unit(passage, position, kind, text)
        for position, (kind, text) in enumerate(found)
        if _quotable(kind, text)
    ]


def _labelled(header: list[str], cells: list[str]) -> str:
    """A table row means little without its column names ("3 to 4 | 26"), so each cell gets its own."""
    if len(header) != len(cells):
        return " | ".join(cells)
    return "; ".join(f"{name}: {cell}" for name, cell in zip(header, cells, strict=True))


def _pieces(kind: UnitKind, line: str) -> list[tuple[UnitKind, str]]:
    """A list item stays whole when it fits, because its sentences lean on each other."""
    if kind == "item" and len(line) <= MAX_UNIT_CHARS:
        return [(kind, line)]
    return [("sentence", sentence) for sentence in split_sentences(line)]


def _quotable(kind: UnitKind, text: str) -> bool:
    """Headings, lead-ins ending in ':', fragments and pointers to other pages say nothing on their own."""
    if not MIN_CHARS <= len(text) <= MAX_UNIT_CHARS or text.endswith(":") or _POINTER.search(text):
        return False
    if kind == "item":
        return len(text.split()) >= MIN_ITEM_WORDS
    return kind == "code" or text[-1] in ".!?”\"')"


def _clean(text: str) -> str:
    return _SPACES.sub(" ", _EMPHASIS.sub("", html.unescape(text))).strip()


def _compose(units: list[_Unit], similarity: Vectors) -> Answer:
    """Best passage first, then each passage's lines in page order, so steps keep their sequence."""
    best_of: dict[int, float] = {}
    for unit, score in zip(units, similarity, strict=True):
        best_of[unit.passage.number] = max(best_of.get(unit.passage.number, -1.0), float(score))
    ordered = sorted(units, key=lambda u: (-best_of[u.passage.number], u.passage.number, u.position))
    lines: list[str] = []
    for previous, unit in zip([None, *ordered], ordered, strict=False):
        if previous and previous.passage == unit.passage and previous.kind == unit.kind == "sentence":
            lines[-1] += " " + unit.rendered()
        else:
            lines.append(unit.rendered())
    cited = tuple(dict.fromkeys(unit.passage.number for unit in ordered))
    return Answer(text="\n".join(lines), cited=cited, grounded=True, writer="offline")


def _declined() -> Answer:
    return Answer(text=NOT_FOUND_TEXT, cited=(), grounded=False, writer="offline")
