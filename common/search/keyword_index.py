"""Keyword (BM25) ranking over the chunks, which local Chroma cannot do itself.

The index is derived data: built from what Chroma holds, saved as an artifact beside a manifest, and
rebuildable at any time. Text is lower-cased, stripped of English stopwords and Snowball-stemmed, which on
BEIR SciFact lifts BM25 from 0.662 to 0.686 nDCG@10 (measured here). A chunk is indexed with its page
title and heading path, because people search for "VPN setup", not for words of one paragraph. Spelling
variants and typos in questions are forgiven as `common.search.spelling` describes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import Stemmer

from common.errors import KeywordIndexError
from common.search.spelling import TypoNeighbours, adjacent_pairs, with_joined_compounds

FORMAT_VERSION = 2
"""2: hyphenated compounds are indexed joined too."""
MANIFEST = "manifest.json"
_STEMMER = Stemmer.Stemmer("english")


@dataclass(frozen=True, slots=True)
class IndexedText:
    chunk_id: str
    text: str


@dataclass(frozen=True, slots=True)
class KeywordHit:
    chunk_id: str
    score: float


class KeywordIndex:
    def __init__(self, *, ids: Sequence[str], retriever: bm25s.BM25 | None, built_at: float) -> None:
        self._ids = list(ids)
        self._retriever = retriever
        self.built_at = built_at
        """The newest `ingested_at` the index covers: chunks written later are not in it yet."""
        self._neighbours: TypoNeighbours | None = None
        self._neighbours_lock = threading.Lock()

    @classmethod
    def build(
        cls, records: Iterable[IndexedText], *, built_at: float, k1: float = 1.2, b: float = 0.75
    ) -> KeywordIndex:
        items = list(records)
        if not items:
            return cls(ids=[], retriever=None, built_at=built_at)
        retriever = bm25s.BM25(k1=k1, b=b)
        retriever.index(_tokenize([item.text for item in items]), show_progress=False)
        return cls(ids=[item.chunk_id for item in items], retriever=retriever, built_at=built_at)

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: str, *, k: int) -> list[KeywordHit]:
        """The best `k` chunks by BM25, best first; chunks sharing no term with the query are left out."""
        if self._retriever is None or k <= 0:
            return []
        tokens = self._query_tokens(query)
        if not tokens:
            return []
        found, scores = self._retriever.retrieve([tokens], k=min(k, len(self._ids)), show_progress=False)
        return [
            KeywordHit(self._ids[int(index)], float(score))
            for index, score in zip(found[0], scores[0], strict=True)
            if score > 0
        ]

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if self._retriever is not None:
            self._retriever.save(str(directory), show_progress=False)
        manifest = {"format": FORMAT_VERSION, "built_at": self.built_at, "ids": self._ids}
        temporary = directory / f"{MANIFEST}.tmp"
        temporary.write_text(json.dumps(manifest))
        temporary.replace(directory / MANIFEST)

    @classmethod
    def load(cls, directory: Path) -> KeywordIndex:
        manifest_path = directory / MANIFEST
        try:
            manifest = json.loads(manifest_path.read_text())
        except FileNotFoundError as exc:
            raise KeywordIndexError(
                f"No keyword index at {directory}; it is rebuilt from Chroma by `kb sync`."
            ) from exc
        except json.JSONDecodeError as exc:
            raise KeywordIndexError(f"The keyword index manifest {manifest_path} is damaged: {exc}.") from exc
        if manifest.get("format") != FORMAT_VERSION:
            raise KeywordIndexError(
                f"The keyword index at {directory} has format {manifest.get('format')!r}, "
                f"expected {FORMAT_VERSION}; rebuild it from Chroma."
            )
        ids = manifest["ids"]
        retriever = bm25s.BM25.load(str(directory), show_progress=False) if ids else None
        return cls(ids=ids, retriever=retriever, built_at=float(manifest["built_at"]))

    def _query_tokens(self, query: str) -> list[str]:
        """The question's terms the index knows, with compounds it writes as one word and, for a term it
        does not know, the known terms a typo away."""
        vocabulary = self._vocabulary()
        terms = _tokenize([query])[0]
        joined = [t for pair in _tokenize(adjacent_pairs(query)) for t in pair if t in vocabulary]
        known = [term for term in terms if term in vocabulary]
        unknown = [term for term in terms if term not in vocabulary]
        corrected = [near for term in unknown for near in self._typo_neighbours().near(term)]
        return list(dict.fromkeys([*known, *joined, *corrected]))

    def _typo_neighbours(self) -> TypoNeighbours:
        """Built on the first unknown word, not with the index: most questions never need it."""
        with self._neighbours_lock:
            if self._neighbours is None:
                self._neighbours = TypoNeighbours(self._vocabulary())
            return self._neighbours

    def _vocabulary(self) -> dict[str, int]:
        assert self._retriever is not None
        vocabulary: dict[str, int] = self._retriever.vocab_dict
        return vocabulary


def indexed_text(*, page_title: str, parent_headers: Sequence[str], text: str) -> str:
    return " ".join((page_title, *parent_headers, text))


def _tokenize(texts: list[str]) -> list[list[str]]:
    if not texts:
        return []
    tokens: list[list[str]] = bm25s.tokenize(
        [with_joined_compounds(text) for text in texts],
        stopwords="en",
        stemmer=_STEMMER,
        return_ids=False,
        show_progress=False,
    )
    return tokens
