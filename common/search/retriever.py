"""Finding the passages that answer a question: dense and keyword retrieval, fused, then ranked.

1. Dense: the query's embedding against Chroma (exact enough with `ef_search` 200).
2. Keyword: BM25 over the same chunks (`common.search.keyword_index`), which local Chroma cannot do.
3. Fusion: convex combination of max-normalised scores (`common.search.fusion`, weights chosen on BEIR
   SciFact).
4. Candidates are read through a per-process cache that asks Chroma only for those written since
   (`common.search.chunk_cache`): reading them is most of a search's cost to the server.
5. Filters and the reader's access in process over the over-fetched candidates; Chroma's own `where` only
   as a fallback when they leave too few (the fallback asks for unrestricted chunks, which every reader may
   read, and keeps the readable restricted ones already found).
6. Ranking signals from Chroma metadata (`common.search.ranking`): quality, freshness, verified reviews.
7. At most `max_per_page` chunks of one page, and neighbouring chunks of a page merged into one passage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from common.ai.embeddings import Embedder
from common.search.chunk_cache import CachedChunkReader
from common.search.filters import SearchFilters
from common.search.fusion import convex_fusion
from common.search.keyword_cache import KeywordIndexCache
from common.search.ranking import RankingWeights, ScoreParts, score
from common.store.access import Reader, may_read
from common.store.chunk import CLASSIFICATIONS, within_ceiling
from common.store.chunk_store import ChunkStore, StoredChunk
from common.store.review import is_verified


@dataclass(frozen=True, slots=True)
class SearchResult:
    chunk_id: str
    chunk_ids: tuple[str, ...]
    """Every chunk this passage covers (more than one when neighbours were merged)."""
    text: str
    page_id: str
    page_title: str
    url: str
    space_key: str
    parent_headers: tuple[str, ...]
    chunk_type: str
    owner: str
    updated_at: str
    reviewed_at: str | None
    verified: bool
    classification: str
    restricted: bool
    """Whether the page has read restrictions (shown only to those they let in)."""
    quality_score: float
    scores: ScoreParts

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["scores"] = self.scores.as_dict()
        return data


@dataclass(frozen=True, slots=True)
class _Candidate:
    chunk: StoredChunk
    parts: ScoreParts


class HybridRetriever:
    def __init__(
        self,
        *,
        store: ChunkStore,
        chunks: CachedChunkReader,
        embedder: Embedder,
        keywords: KeywordIndexCache,
        alpha: float,
        candidates: int,
        max_per_page: int,
        weights: RankingWeights,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._chunks = chunks
        self._embedder = embedder
        self._keywords = keywords
        self._alpha = alpha
        self._candidates = candidates
        self._max_per_page = max_per_page
        self._weights = weights
        self._clock = clock

    def search(self, query: str, *, top_k: int, filters: SearchFilters, reader: Reader) -> list[SearchResult]:
        """Only chunks `reader` may read are ever ranked, so nothing downstream (answers, sources, buttons,
        owners named) can carry a page they may not see."""
        vector = [float(v) for v in self._embedder.embed([query])[0]]
        nearest = self._store.nearest_ids(vector, n_results=self._candidates)
        dense = {chunk_id: 1.0 - distance for chunk_id, distance in nearest}
        index = self._keywords.get()
        keyword = {hit.chunk_id: hit.score for hit in index.search(query, k=self._candidates)}
        chunks = self._chunks.read([*dense, *keyword], known_to_exist=dense.keys())
        readable = {
            cid: chunk for cid, chunk in chunks.items() if may_read(reader, chunk.metadata.read_rules)
        }
        ranked = self._rank(readable, dense, keyword, filters, indexed_until=index.built_at)
        if len(ranked) < top_k and (filters.narrows or len(readable) < len(chunks)):
            more, more_dense = self._dense(vector, where=_where(filters))
            found = {c.chunk.id: c.chunk for c in ranked}
            chunks, dense = {**more, **found}, {**more_dense, **{k: dense[k] for k in found if k in dense}}
            narrowed = {k: v for k, v in keyword.items() if k in chunks}
            ranked = self._rank(chunks, dense, narrowed, filters, indexed_until=index.built_at)
        return self._passages(ranked, top_k)

    def _dense(
        self, vector: list[float], *, where: dict[str, object] | None
    ) -> tuple[dict[str, StoredChunk], dict[str, float]]:
        hits = self._store.query(vector, n_results=self._candidates, where=where)
        return {chunk.id: chunk for chunk, _ in hits}, {chunk.id: 1.0 - distance for chunk, distance in hits}

    def _rank(
        self,
        chunks: dict[str, StoredChunk],
        dense: dict[str, float],
        keyword: dict[str, float],
        filters: SearchFilters,
        *,
        indexed_until: float,
    ) -> list[_Candidate]:
        unseen = {
            chunk_id for chunk_id, chunk in chunks.items() if chunk.metadata.ingested_at > indexed_until
        }
        fused = convex_fusion(dense, keyword, alpha=self._alpha, unseen=unseen)
        now = self._clock()
        candidates = [
            _Candidate(
                chunk,
                score(
                    dense=dense.get(chunk_id, 0.0),
                    keyword=keyword.get(chunk_id, 0.0),
                    relevance=relevance,
                    meta=chunk.metadata,
                    weights=self._weights,
                    now=now,
                ),
            )
            for chunk_id, relevance in fused.items()
            if (chunk := chunks.get(chunk_id)) is not None and filters.matches(chunk.metadata)
        ]
        return sorted(candidates, key=lambda c: (-c.parts.final, c.chunk.id))

    def _passages(self, ranked: list[_Candidate], top_k: int) -> list[SearchResult]:
        """Best first, at most `max_per_page` per page; a chosen chunk absorbs chosen neighbours."""
        chosen: list[list[_Candidate]] = []
        per_page: dict[str, int] = {}
        for candidate in ranked:
            meta = candidate.chunk.metadata
            group = next((g for g in chosen if _adjacent(g, candidate)), None)
            if group is not None:
                group.append(candidate)
                continue
            if per_page.get(meta.page_id, 0) >= self._max_per_page or len(chosen) >= top_k:
                continue
            per_page[meta.page_id] = per_page.get(meta.page_id, 0) + 1
            chosen.append([candidate])
        return [self._result(group) for group in chosen]

    def _result(self, group: list[_Candidate]) -> SearchResult:
        best = group[0]
        ordered = sorted(group, key=lambda c: c.chunk.metadata.chunk_index)
        meta = best.chunk.metadata
        return SearchResult(
            chunk_id=best.chunk.id,
            chunk_ids=tuple(c.chunk.id for c in ordered),
            text="\n\n".join(c.chunk.text for c in ordered),
            page_id=meta.page_id,
            page_title=meta.page_title,
            url=meta.url,
            space_key=meta.space_key,
            parent_headers=meta.parent_headers,
            chunk_type=meta.chunk_type,
            owner=meta.owner,
            updated_at=meta.updated_at.isoformat(),
            reviewed_at=meta.reviewed_at.isoformat() if meta.reviewed_at else None,
            verified=is_verified(meta, self._weights.review_interval, self._clock()),
            classification=meta.classification,
            restricted=meta.restricted,
            quality_score=meta.quality_score,
            scores=best.parts,
        )


def _adjacent(group: list[_Candidate], candidate: _Candidate) -> bool:
    """Neighbouring chunks of one section read better as one passage than as two results."""
    meta = candidate.chunk.metadata
    return any(
        member.chunk.metadata.page_id == meta.page_id
        and member.chunk.metadata.parent_headers == meta.parent_headers
        and abs(member.chunk.metadata.chunk_index - meta.chunk_index) == 1
        for member in group
    )


def _where(filters: SearchFilters) -> dict[str, object]:
    """The same filters as a Chroma `where`, for the slow path when in-process filtering left too few;
    restricted chunks are left to the first pass, since a `where` cannot test group membership."""
    allowed = [level for level in CLASSIFICATIONS if within_ceiling(level, filters.max_classification)]
    clauses: list[dict[str, object]] = [{"classification": {"$in": allowed}}, {"restricted": False}]
    for field, values in (
        ("space_key", filters.spaces),
        ("doc_type", filters.doc_types),
        ("chunk_type", filters.chunk_types),
    ):
        if values:
            clauses.append({field: {"$in": list(values)}})
    return {"$and": clauses}
