"""Gap analysis: the questions the knowledge base answered badly (`common.analytics.gap_questions`), grouped
into topics a new page could answer, each with who should write it.

- Grouping: centroid-linkage clustering of the questions' embeddings: the two groups whose centroids are
  most alike merge while their cosine is at least `similarity` (GAP_SIMILARITY); topics of fewer than
  `min_questions` (GAP_MIN_QUESTIONS) are dropped. Every ask counts, so three people asking one thing the
  same way make a topic.
- Title: a suggested page title from the words the questions share (each in at least two of them, and in a
  third of them): the shortest stretch of one question's wording that holds most of those words, e.g.
  "Expense reports as a contractor".
- Nearest space and owners: the topic's most central question searched as everyone may read it (never a
  restricted page, so naming its owner reveals nothing), the space most of the best results are in, and the
  owners of those results in it, most frequent first.

Privacy: questions asked in direct messages (Slack's `im`, and `mpim`, a group DM) count toward a topic but
are never quoted: they are not samples, the title is taken from the wording of a question asked in a channel
(or is only words other questions share), and a digest or report says how many were not shown. People ask
things in private they would not ask in a channel; a digest sent to owners and admins must not repeat them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import Stemmer

from common.ai.embeddings import Embedder, Vectors
from common.analytics.gap_questions import REASONS, BadQuestion, GapReason
from common.ingestion.enrichment import STOPWORDS, WORD
from common.search.filters import SearchFilters
from common.search.retriever import HybridRetriever, SearchResult
from common.store.access import EVERYONE

DIRECT_MESSAGES = frozenset({"im", "mpim"})
MAX_SAMPLES = 3
MAX_SAMPLE_CHARS = 200
MAX_OWNERS = 2
NEAREST_RESULTS = 5
MAX_TITLE_WORDS = 7

_STEMMER = Stemmer.Stemmer("english")
_FILLER = STOPWORDS | {
    "am", "any", "anyone", "been", "but", "could", "did", "get", "got", "has", "have", "hello", "help", "hey",
    "hi", "just", "know", "me", "my", "need", "please", "so", "still", "than", "that", "thanks", "then",
    "there", "us", "was", "way", "were", "would",
}  # fmt: skip
"""Words a question is phrased with, not what it is about."""
_LINK_COST = 0.4
"""A short word inside a title ("for", "as a") costs less than a content word the questions do not share."""


@dataclass(frozen=True, slots=True)
class GapTopic:
    title: str
    """A suggested page title."""
    size: int
    reasons: dict[GapReason, int]
    """How many of its questions each reason holds for (one question can have several)."""
    samples: tuple[str, ...]
    """Up to three questions asked in channels, most central first; never a direct message."""
    direct_messages: int
    """Questions asked in direct messages: counted, never shown."""
    space_key: str | None
    """The nearest space; None when no page everyone may read came close."""
    owners: tuple[str, ...]
    """Emails of the nearest space's owners for this topic, most relevant first."""

    def as_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "questions": self.size,
            "reasons": dict(self.reasons),
            "samples": list(self.samples),
            "direct_messages": self.direct_messages,
            "space_key": self.space_key,
            "owners": list(self.owners),
        }


class GapAnalysis:
    def __init__(
        self, *, embedder: Embedder, retriever: HybridRetriever, min_questions: int, similarity: float
    ) -> None:
        self._embedder = embedder
        self._retriever = retriever
        self._min_questions = min_questions
        self._similarity = similarity

    def topics(self, questions: Sequence[BadQuestion]) -> list[GapTopic]:
        """Largest first."""
        if not questions:
            return []
        vectors = self._embedder.embed([question.text for question in questions])
        groups = [g for g in cluster(vectors, similarity=self._similarity) if len(g) >= self._min_questions]
        found = [self._topic([questions[i] for i in group], vectors[group]) for group in groups]
        return sorted(found, key=lambda topic: (-topic.size, topic.title))

    def _topic(self, members: list[BadQuestion], vectors: Vectors) -> GapTopic:
        centroid = vectors.sum(axis=0)
        order = np.argsort(-(vectors @ (centroid / np.linalg.norm(centroid))), kind="stable")
        central = [members[i] for i in order]
        quotable = [q.text for q in central if q.channel_type not in DIRECT_MESSAGES]
        space_key, owners = nearest_space(
            self._retriever.search(
                central[0].text, top_k=NEAREST_RESULTS, filters=SearchFilters(), reader=EVERYONE
            )
        )
        return GapTopic(
            title=suggest_title([q.text for q in central], quotable=quotable),
            size=len(members),
            reasons={reason: n for reason in REASONS if (n := sum(reason in q.why for q in members))},
            samples=_samples(quotable),
            direct_messages=len(members) - len(quotable),
            space_key=space_key,
            owners=owners,
        )


def cluster(vectors: Vectors, *, similarity: float) -> list[list[int]]:
    """Indexes of `vectors` (L2-normalised rows) grouped by centroid linkage: the two groups whose centroids
    are most alike merge while their cosine is at least `similarity`. Unlike a single greedy pass, the
    result does not depend on the order questions came in. Each group remembers its nearest other group, so
    a merge rescans only the groups that pointed at the two merged: 1,000 questions take about half a
    second. Memory is quadratic (a similarity matrix): thousands of questions, not millions."""
    count = len(vectors)
    sums = vectors.astype(np.float64)
    units = sums.copy()
    alike = units @ units.T
    np.fill_diagonal(alike, -np.inf)
    nearest = alike.argmax(axis=1) if count else np.zeros(0, dtype=np.intp)
    best = alike[np.arange(count), nearest]
    groups: dict[int, list[int]] = {index: [index] for index in range(count)}
    alive = np.ones(count, dtype=bool)
    while len(groups) > 1 and best.max() >= similarity:
        first = int(np.argmax(best))
        into, merged = sorted((first, int(nearest[first])))
        sums[into] += sums[merged]
        units[into] = sums[into] / np.linalg.norm(sums[into])
        groups[into] += groups.pop(merged)
        alive[merged] = False
        row = np.where(alive, units @ units[into], -np.inf)
        row[into] = -np.inf
        alike[merged, :] = alike[:, merged] = -np.inf
        alike[into, :] = alike[:, into] = row
        best[merged] = -np.inf
        for index in np.flatnonzero(alive & ((nearest == merged) | (nearest == into))):
            nearest[index] = np.argmax(alike[index])
            best[index] = alike[index, nearest[index]]
        nearest[into] = np.argmax(row)
        best[into] = row[nearest[into]]
        closer = alive & (row > best)
        nearest[closer], best[closer] = into, row[closer]
    return sorted((sorted(members) for members in groups.values()), key=lambda members: members[0])


def nearest_space(results: Sequence[SearchResult]) -> tuple[str | None, tuple[str, ...]]:
    """The space most results are in (the better first result breaks a tie), and its owners among them."""
    if not results:
        return None, ()
    spaces = Counter(result.space_key for result in results)
    first_rank = {r.space_key: rank for rank, r in reversed(list(enumerate(results)))}
    space = min(spaces, key=lambda key: (-spaces[key], first_rank[key]))
    in_space = [result.owner for result in results if result.space_key == space and result.owner]
    owners = Counter(in_space)
    ranked = sorted(owners, key=lambda owner: (-owners[owner], in_space.index(owner)))
    return space, tuple(ranked[:MAX_OWNERS])


def suggest_title(texts: Sequence[str], *, quotable: Sequence[str]) -> str:
    """A page title from what `texts` share, worded as one of `quotable` (the texts that may be quoted)
    words it; only shared words when none of those holds them."""
    shared = _shared_terms(texts)
    if not shared:
        return _sentence(quotable[0].split()[:MAX_TITLE_WORDS]) if quotable else "Questions asked privately"
    best: tuple[tuple[float, ...], list[str]] | None = None
    for text in quotable:
        words = WORD.findall(text)
        keys = [_key(word) for word in words]
        for start in range(len(words)):
            for end in range(start, min(len(words), start + MAX_TITLE_WORDS)):
                if keys[start] not in shared or keys[end] not in shared:
                    continue
                span = keys[start : end + 1]
                covered = {key for key in span if key in shared}
                cost = sum(
                    0.0 if key in shared else _LINK_COST if word.lower() in _FILLER else 1.0
                    for key, word in zip(span, words[start : end + 1], strict=True)
                )
                rank = (-len(covered), cost, -sum(shared[key] for key in covered))
                if best is None or rank < best[0]:
                    best = (rank, words[start : end + 1])
    return _sentence(best[1]) if best is not None else _sentence(_in_usual_order(texts, shared))


def _shared_terms(texts: Sequence[str]) -> dict[str, int]:
    """Content words (by stem) in at least two of `texts` and in a third of them, with how many hold each."""
    frequency = Counter(
        key for text in texts for key in {_key(word) for word in WORD.findall(text)} if key is not None
    )
    least = max(2, math.ceil(len(texts) / 3))
    return {key: count for key, count in frequency.items() if count >= least}


def _in_usual_order(texts: Sequence[str], shared: dict[str, int]) -> list[str]:
    """The shared words alone, each as most questions spell it, in the order questions tend to use them."""
    spellings: dict[str, Counter[str]] = {key: Counter() for key in shared}
    places: dict[str, list[float]] = {key: [] for key in shared}
    for text in texts:
        words = WORD.findall(text)
        for position, word in enumerate(words):
            key = _key(word)
            if key in shared:
                spellings[key][word if word.isupper() else word.lower()] += 1
                places[key].append(position / len(words))
    order = sorted(shared, key=lambda key: (sum(places[key]) / len(places[key]), key))
    return [spellings[key].most_common(1)[0][0] for key in order]


def _key(word: str) -> str | None:
    """The stem a word is compared by; None for words that say nothing about the topic."""
    lower = word.lower().removesuffix("'s")
    if lower in _FILLER or len(lower) < 2 or lower.isdigit():
        return None
    return str(_STEMMER.stemWord(lower))


def _sentence(words: Sequence[str]) -> str:
    text = re.sub(r"\s+", " ", " ".join(words)).strip(" ?!.,;:")
    return text[:1].upper() + text[1:]


def _samples(quotable: Sequence[str]) -> tuple[str, ...]:
    """The most central distinct wordings, each cut to a readable length."""
    seen: set[str] = set()
    samples: list[str] = []
    for text in quotable:
        normal = " ".join(text.lower().split())
        if normal in seen:
            continue
        seen.add(normal)
        samples.append(text if len(text) <= MAX_SAMPLE_CHARS else text[: MAX_SAMPLE_CHARS - 1] + "…")
        if len(samples) == MAX_SAMPLES:
            break
    return tuple(samples)
