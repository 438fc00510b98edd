"""AI metadata for a page: doc_type, topics, audience, complexity and a summary.

The fields are page-level (a chunk inherits its page's), because they describe what a document *is*; the
plan stores them on every chunk so search can filter and rank without a second lookup.

`OfflineEnricher` is the default and needs nothing but the embedding model: it classifies doc_type and
audience zero-shot, by comparing the page's mean chunk embedding (already computed for indexing, so this is
free) with embeddings of short label descriptions, nudged by cues a reader would use (a title that says
"FAQ", numbered steps). Topics are the page's labels, then its heading words; complexity comes from a
readability score and the share of code; the summary is the page's lead sentences. `LlmEnricher`
(`common.ingestion.llm_enrichment`) replaces it when an LLM is configured.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol, get_args

import numpy as np

from common.ai.embeddings import Embedder, Vectors
from common.store.chunk import Audience, Complexity, DocType

SUMMARY_MAX_CHARS = 300
MAX_TOPICS = 8
AUDIENCE_MARGIN = 0.04
"""Audiences scoring within this cosine margin of the best one are kept too (at most three)."""

DOC_TYPE_DESCRIPTIONS: dict[DocType, str] = {
    "policy": "A company policy: rules employees must follow, what is required, allowed or prohibited, "
    "who it applies to, and the consequences of violations.",
    "how-to": "A step-by-step guide: how to set up, install, configure, request or do something, "
    "with numbered instructions and commands to run.",
    "reference": "Reference documentation: facts, tables, specifications, standards, conventions, "
    "lists of systems, contacts, options and definitions to look up.",
    "FAQ": "Frequently asked questions: a list of common questions, each followed by a short answer.",
}

AUDIENCE_DESCRIPTIONS: dict[Audience, str] = {
    "all-employees": "Information every employee of the company needs: benefits, leave, office, tools.",
    "engineers": "Software engineers: code, repositories, deployments, APIs, databases, on-call.",
    "managers": "People managers: approving requests, reviews of their reports, hiring and team budgets.",
    "new-hires": "New employees in their first weeks: onboarding, accounts, laptops and first steps.",
    "it-admins": "IT administrators: managing devices, accounts, networks, licences and access.",
    "security": "The security team: threats, incidents, vulnerabilities, audits and access reviews.",
}

LABEL_STOPLIST = re.compile(r"^(owner-.*|public|internal|confidential|classification-.*)$")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9+#.-]*[A-Za-z0-9+#]|[A-Za-z]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "should",
        "the",
        "their",
        "this",
        "to",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "do",
        "does",
        "can",
        "about",
        "after",
        "before",
        "via",
        "vs",
        "not",
        "no",
        "yes",
        "faq",
        "overview",
        "introduction",
        "summary",
        "page",
        "home",
        "section",
        "notes",
        "other",
        "misc",
        "general",
    ]
)


@dataclass(frozen=True, slots=True)
class AiMetadata:
    doc_type: DocType
    topics: tuple[str, ...]
    audience: tuple[Audience, ...]
    complexity: Complexity
    summary: str


@dataclass(frozen=True, slots=True)
class PageContent:
    """What an enricher may look at: the page's chunks and, when already computed, their embeddings."""

    title: str
    labels: tuple[str, ...]
    headers: tuple[str, ...]
    chunk_texts: tuple[str, ...]
    chunk_types: tuple[str, ...]
    embeddings: Vectors


class Enricher(Protocol):
    def enrich(self, page: PageContent) -> AiMetadata:
        """AI metadata for one page. Raises `EnrichmentError` when a configured provider fails."""
        ...


class OfflineEnricher:
    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    @cached_property
    def _doc_type_vectors(self) -> Vectors:
        return self._embedder.embed(list(DOC_TYPE_DESCRIPTIONS.values()))

    @cached_property
    def _audience_vectors(self) -> Vectors:
        return self._embedder.embed(list(AUDIENCE_DESCRIPTIONS.values()))

    def enrich(self, page: PageContent) -> AiMetadata:
        centroid = _centroid(page.embeddings)
        return AiMetadata(
            doc_type=self._doc_type(page, centroid),
            topics=topics_for(page),
            audience=self._audience(centroid),
            complexity=complexity_for(page),
            summary=summary_for(page),
        )

    def _doc_type(self, page: PageContent, centroid: Vectors) -> DocType:
        similarity = self._doc_type_vectors @ centroid
        scores = dict(zip(get_args(DocType), (float(s) for s in similarity), strict=True))
        for doc_type, bonus in doc_type_cues(page).items():
            scores[doc_type] += bonus
        return max(scores, key=lambda name: scores[name])

    def _audience(self, centroid: Vectors) -> tuple[Audience, ...]:
        similarity = self._audience_vectors @ centroid
        ranked = sorted(
            zip(AUDIENCE_DESCRIPTIONS, (float(s) for s in similarity), strict=True), key=lambda p: -p[1]
        )
        best = ranked[0][1]
        return tuple(name for name, score in ranked[:3] if score >= best - AUDIENCE_MARGIN)


def doc_type_cues(page: PageContent) -> dict[DocType, float]:
    """Bonuses for signals a human reader would trust more than a fuzzy embedding match."""
    title = page.title.lower()
    labels = {label.lower() for label in page.labels}
    questions = sum(1 for header in page.headers if header.rstrip().endswith("?"))
    cues: dict[DocType, float] = {}
    if "faq" in title or "faq" in labels or "frequently asked" in title or questions >= 3:
        cues["FAQ"] = 0.5
    if "policy" in title or "policy" in labels or "standard" in title:
        cues["policy"] = 0.3
    if (
        re.search(r"\b(how to|setup|set up|setting up|guide|getting started|install)\b", title)
        or "how-to" in labels
    ):
        cues["how-to"] = 0.3
    return cues


def topics_for(page: PageContent) -> tuple[str, ...]:
    """The page's own labels first (people chose them), then the words its title and headings repeat."""
    topics: list[str] = [label for label in page.labels if not LABEL_STOPLIST.match(label)]
    words = Counter(
        word.lower()
        for text in (page.title, page.title, *page.headers)
        for word in WORD.findall(text)
        if len(word) > 2 and word.lower() not in STOPWORDS
    )
    for word, _ in words.most_common():
        if len(topics) >= MAX_TOPICS:
            break
        if word not in topics:
            topics.append(word)
    return tuple(topics[:MAX_TOPICS])


def complexity_for(page: PageContent) -> Complexity:
    """Flesch reading ease of the prose, pushed up by the share of code: a heuristic, documented as one."""
    prose = " ".join(t for t, kind in zip(page.chunk_texts, page.chunk_types, strict=True) if kind != "code")
    code_share = sum(1 for kind in page.chunk_types if kind == "code") / max(1, len(page.chunk_types))
    ease = flesch_reading_ease(prose)
    if code_share >= 0.3 or ease < 30:
        return "advanced"
    if code_share == 0 and ease >= 60:
        return "beginner"
    return "intermediate"


def flesch_reading_ease(text: str) -> float:
    words = WORD.findall(text)
    if not words:
        return 100.0
    sentences = max(1, len(SENTENCE_END.split(text.strip())))
    syllables = sum(_syllables(word) for word in words)
    return 206.835 - 1.015 * (len(words) / sentences) - 84.6 * (syllables / len(words))


def summary_for(page: PageContent) -> str:
    """The lead of the page's first prose chunk: Confluence pages usually open with what they are for."""
    for text, kind in zip(page.chunk_texts, page.chunk_types, strict=True):
        if kind == "text" and text.strip():
            return _lead(text)
    return _lead(page.chunk_texts[0]) if page.chunk_texts else page.title


def _lead(text: str) -> str:
    flat = " ".join(text.split())
    summary = ""
    for sentence in SENTENCE_END.split(flat):
        candidate = f"{summary} {sentence}".strip()
        if len(candidate) > SUMMARY_MAX_CHARS:
            break
        summary = candidate
    if not summary:
        summary = flat[: SUMMARY_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return summary


def _syllables(word: str) -> int:
    groups = re.findall(r"[aeiouy]+", word.lower())
    count = len(groups) - (1 if word.lower().endswith("e") and len(groups) > 1 else 0)
    return max(1, count)


def _centroid(embeddings: Vectors) -> Vectors:
    if len(embeddings) == 0:
        raise ValueError("a page with no chunks has nothing to enrich")
    mean: Vectors = np.asarray(embeddings, dtype=np.float32).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / np.float32(norm) if norm > 0 else mean
