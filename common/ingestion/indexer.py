"""Pages in, chunks in Chroma out: parse → chunk → diff against the store → embed → enrich → write.

The store is compared before anything is embedded, so a re-sync of unchanged content embeds nothing, and
every chunk keeps what only this system knows about it (`LEARNED_FIELDS`: quality, counts, reviews).
Chunk ids come from the page id and the chunk's place in the page's heading structure, so editing one
section re-embeds that section only; the others keep their ids, embeddings and scores. When structure moves
(a renamed heading above unchanged text, a paragraph inserted before it) learned state follows the text:
a chunk whose text the page held before under another id carries that chunk's scores, and a vector is
reused wherever the exact embedding input was already embedded.

Learned fields are not written for chunks that keep their own: votes and accesses keep arriving while a
sync runs, and Chroma merges metadata keys on update, so leaving them out cannot overwrite a newer vote.

Embedding is batched across pages: the model is several times faster on a batch of a few hundred texts
than on a page's handful, and it is most of the cost of a sync.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

import numpy as np

from common.ai.embeddings import Embedder
from common.ai.tokens import count_tokens
from common.confluence.models import SourcePage
from common.confluence.storage_format import parse_storage_format
from common.errors import KbError, ServiceUnavailable, SourceError
from common.ingestion.chunk_identity import chunk_id_for, content_hash, embedding_input
from common.ingestion.chunking import ChunkDraft, chunk_page
from common.ingestion.enrichment import AiMetadata, Enricher, PageContent
from common.ingestion.governance import classification_of, owner_of
from common.logs import get_logger
from common.quality.writer import QualityWriter
from common.store.chunk import (
    LEARNED_FIELDS,
    NEUTRAL_QUALITY_SCORE,
    PAGE_DECISION_FIELDS,
    Chunk,
    ChunkMetadata,
    Classification,
    SourceKind,
    to_chroma_metadata,
)
from common.store.chunk_store import ChunkStore, StoredChunk

log = get_logger(__name__)

EMBED_BATCH = 256
"""Texts gathered across pages before calling the model; large enough to keep it busy, small enough
that a crash loses little work."""


@dataclass(frozen=True, slots=True)
class PageOutcome:
    page_id: str
    title: str
    chunks_written: int = 0
    chunks_embedded: int = 0
    chunks_deleted: int = 0
    error: str | None = None
    new: bool = False
    """No chunk of the page was stored before: a page new to the knowledge base."""

    @property
    def changed(self) -> bool:
        return bool(self.chunks_written or self.chunks_deleted)


@dataclass(slots=True)
class _Planned:
    chunk_id: str
    draft: ChunkDraft
    input_text: str
    content_hash: str
    existing: StoredChunk | None
    """The stored chunk with this id, if any."""
    previous: StoredChunk | None = None
    """The stored chunk whose learned state this one carries: the same text under any id of the page
    (structure moved), else the chunk with this id (its text was edited)."""
    same_content: StoredChunk | None = None
    """A stored chunk of the page with exactly this embedding input, whose vector can be reused."""
    embedding: tuple[float, ...] | None = None

    @property
    def content_changed(self) -> bool:
        return self.existing is None or self.existing.metadata.content_hash != self.content_hash

    @property
    def needs_embedding(self) -> bool:
        return self.same_content is None

    @property
    def carries_learned_from_elsewhere(self) -> bool:
        return self.previous is not None and self.previous.id != self.chunk_id


@dataclass(slots=True)
class _PagePlan:
    page: SourcePage
    chunks: list[_Planned]
    stale_ids: list[str]
    existing: dict[str, StoredChunk] = field(default_factory=dict)

    def to_embed(self) -> list[_Planned]:
        return [planned for planned in self.chunks if planned.needs_embedding]

    def content_unchanged(self) -> bool:
        return not self.stale_ids and not any(p.content_changed for p in self.chunks)


class Indexer:
    def __init__(
        self,
        *,
        store: ChunkStore,
        embedder: Embedder,
        enricher: Enricher,
        source_kind: SourceKind,
        default_classification: Classification,
        max_tokens: int,
        user_name: Callable[[str], str | None],
        quality: QualityWriter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._quality = quality
        self._embedder = embedder
        self._enricher = enricher
        self._source_kind = source_kind
        self._default_classification = default_classification
        self._max_tokens = max_tokens
        self._user_name = user_name
        self._clock = clock
        self._count_tokens = partial(count_tokens, model_path=embedder.model_path)

    def index(self, pages: Iterable[SourcePage]) -> Iterator[PageOutcome]:
        """Index pages, yielding one outcome per page as its chunks are committed.

        A page that cannot be indexed yields an outcome with `error` set and the rest go on. Only an outage
        (`ServiceUnavailable`: store, source or LLM) stops the run: every later page would fail the same way.
        A source that fails while being read gets what was already read committed before its error goes on.
        """
        pending: list[_PagePlan] = []
        pending_texts = 0
        try:
            for page in pages:
                try:
                    plan = self._plan(page)
                except ServiceUnavailable:
                    raise
                except KbError as exc:
                    yield self._failed(page.page_id, page.title, exc)
                    continue
                pending.append(plan)
                pending_texts += len(plan.to_embed())
                if pending_texts >= EMBED_BATCH:
                    yield from self._commit(pending)
                    pending, pending_texts = [], 0
        except SourceError:
            yield from self._commit(pending)
            raise
        yield from self._commit(pending)

    def _plan(self, page: SourcePage) -> _PagePlan:
        parsed = parse_storage_format(page.body_storage, user_name=self._user_name)
        if parsed.recovered:
            log.warning("page_markup_recovered", page_id=page.page_id, title=page.title)
        drafts = chunk_page(
            title=page.title,
            blocks=parsed.blocks,
            max_tokens=self._max_tokens,
            count_tokens=self._count_tokens,
        )
        stored = self._store.get_chunks(where={"page_id": page.page_id}, with_embeddings=True)
        existing = {chunk.id: chunk for chunk in stored}
        planned = [self._planned(page, draft, existing) for draft in drafts]
        stale_ids = sorted(set(existing) - {p.chunk_id for p in planned})
        by_hash = {chunk.metadata.content_hash: chunk for chunk in stored}
        by_text = {chunk.text: chunk for chunk in stored}
        for chunk in planned:
            chunk.same_content = by_hash.get(chunk.content_hash)
            same_id_same_text = chunk.existing is not None and chunk.existing.text == chunk.draft.text
            chunk.previous = (
                chunk.existing if same_id_same_text else by_text.get(chunk.draft.text, chunk.existing)
            )
        return _PagePlan(page=page, chunks=planned, stale_ids=stale_ids, existing=existing)

    def _planned(self, page: SourcePage, draft: ChunkDraft, existing: dict[str, StoredChunk]) -> _Planned:
        chunk_id = chunk_id_for(page.page_id, draft.key)
        text = embedding_input(page_title=page.title, parent_headers=draft.parent_headers, text=draft.text)
        return _Planned(
            chunk_id=chunk_id,
            draft=draft,
            input_text=text,
            content_hash=content_hash(self._embedder.model_id, text),
            existing=existing.get(chunk_id),
        )

    def _commit(self, plans: list[_PagePlan]) -> Iterator[PageOutcome]:
        """Embed the batch, then write it with one call per kind of write rather than per page: each Chroma
        call has a fixed cost (a transaction, an index flush) that dominates for a page's few chunks.

        New ids are inserted whole, existing ones updated without their learned fields, stale ones deleted
        last: a run that dies halfway leaves extra chunks for the next run to remove, never missing ones.
        """
        to_embed = [planned for plan in plans for planned in plan.to_embed()]
        if to_embed:
            vectors = self._embedder.embed([planned.input_text for planned in to_embed])
            for planned, vector in zip(to_embed, vectors, strict=True):
                planned.embedding = tuple(float(v) for v in vector)
        batch = _Writes()
        outcomes: list[PageOutcome] = []
        for plan in plans:
            try:
                outcomes.append(self._prepare(plan, batch))
            except ServiceUnavailable:
                raise
            except KbError as exc:
                outcomes.append(self._failed(plan.page.page_id, plan.page.title, exc))
        try:
            self._store.upsert(batch.new)
            self._store.update_chunks(batch.changed, leave=LEARNED_FIELDS)
            self._store.update_chunks(batch.moved)
            self._store.delete(batch.stale_ids)
            self._settle_votes(batch)
        except ServiceUnavailable:
            raise
        except KbError as exc:
            outcomes = [o if o.error else self._failed(o.page_id, o.title, exc) for o in outcomes]
        for outcome in outcomes:
            if outcome.changed and not outcome.error:
                log.info(
                    "page_indexed",
                    page_id=outcome.page_id,
                    written=outcome.chunks_written,
                    embedded=outcome.chunks_embedded,
                    deleted=outcome.chunks_deleted,
                )
            yield outcome

    def _settle_votes(self, batch: _Writes) -> None:
        """Votes follow moved text to its new id; an edit resolves the `outdated` votes on what it changed."""
        if self._quality is None:
            return
        self._quality.follow_moves(batch.moves)
        self._quality.resolve_outdated(chunk.id for chunk in batch.changed if chunk.embedding is not None)

    def _prepare(self, plan: _PagePlan, batch: _Writes) -> PageOutcome:
        """Add the page's writes to `batch`; nothing is added if building any of its records fails."""
        page = plan.page
        writes = _Writes(stale_ids=list(plan.stale_ids))
        if plan.chunks:
            ai, now = self._ai_metadata(plan), self._clock()
            for index, planned in enumerate(plan.chunks):
                metadata = self._metadata(plan, planned, index=index, ai=ai, now=now)
                vector = _embedding_of(planned) if planned.content_changed else None
                chunk = Chunk(planned.chunk_id, planned.draft.text, metadata, vector)
                if planned.existing is None:
                    writes.new.append(chunk)
                elif planned.carries_learned_from_elsewhere:
                    writes.moved.append(chunk)
                    if planned.previous is not None:
                        writes.moves[planned.previous.id] = planned.chunk_id
                elif planned.content_changed or _differs(planned.existing, metadata):
                    writes.changed.append(chunk)
        batch.extend(writes)
        return PageOutcome(
            page_id=page.page_id,
            title=page.title,
            chunks_written=len(writes.new) + len(writes.changed) + len(writes.moved),
            chunks_embedded=len(plan.to_embed()),
            chunks_deleted=len(writes.stale_ids),
            new=not plan.existing,
        )

    def _ai_metadata(self, plan: _PagePlan) -> AiMetadata:
        """Re-enrich only when content or labels changed, so an unchanged page never churns its AI fields."""
        if plan.content_unchanged() and plan.existing:
            stored = next(iter(plan.existing.values())).metadata
            if stored.labels == plan.page.labels:
                return AiMetadata(
                    stored.doc_type, stored.topics, stored.audience, stored.complexity, stored.summary
                )
        vectors = np.asarray([_embedding_of(p) for p in plan.chunks], dtype=np.float32)
        return self._enricher.enrich(
            PageContent(
                title=plan.page.title,
                labels=plan.page.labels,
                headers=tuple(dict.fromkeys(h for p in plan.chunks for h in p.draft.parent_headers)),
                chunk_texts=tuple(p.draft.text for p in plan.chunks),
                chunk_types=tuple(p.draft.chunk_type for p in plan.chunks),
                embeddings=vectors,
            )
        )

    def _metadata(
        self, plan: _PagePlan, planned: _Planned, *, index: int, ai: AiMetadata, now: float
    ) -> ChunkMetadata:
        page = plan.page
        learned = _learned_fields(planned.previous, plan.existing)
        return ChunkMetadata(
            page_id=page.page_id,
            page_title=page.title,
            chunk_type=planned.draft.chunk_type,
            chunk_index=index,
            space_key=page.space_key,
            url=page.url,
            author=page.author.handle,
            created_at=page.created_at,
            updated_at=page.updated_at,
            owner=learned.assigned_owner or owner_of(page),
            classification=classification_of(page, default=self._default_classification),
            read_rules=page.read_rules,
            doc_type=ai.doc_type,
            topics=ai.topics,
            audience=ai.audience,
            complexity=ai.complexity,
            summary=ai.summary,
            parent_headers=planned.draft.parent_headers,
            labels=page.labels,
            source=self._source_kind,
            page_version=page.version,
            content_hash=planned.content_hash,
            ingested_at=now,
            language=planned.draft.language,
            quality_score=learned.quality_score,
            feedback_score=learned.feedback_score,
            access_count=learned.access_count,
            feedback_count=learned.feedback_count,
            reviewed_by=learned.reviewed_by,
            reviewed_at=learned.reviewed_at,
            archived=learned.archived,
            assigned_owner=learned.assigned_owner,
        )

    @staticmethod
    def _failed(page_id: str, title: str, exc: KbError) -> PageOutcome:
        log.error("page_failed", page_id=page_id, title=title, error=str(exc))
        return PageOutcome(page_id=page_id, title=title, error=str(exc))


@dataclass(slots=True)
class _Writes:
    """Chunk writes of one or more pages, grouped by how the store must apply them."""

    new: list[Chunk] = field(default_factory=list)
    changed: list[Chunk] = field(default_factory=list)
    moved: list[Chunk] = field(default_factory=list)
    moves: dict[str, str] = field(default_factory=dict)
    """Old id -> new id of chunks whose text moved (their votes move with them)."""
    stale_ids: list[str] = field(default_factory=list)

    def extend(self, other: _Writes) -> None:
        self.new += other.new
        self.changed += other.changed
        self.moved += other.moved
        self.moves.update(other.moves)
        self.stale_ids += other.stale_ids


@dataclass(frozen=True, slots=True)
class _Learned:
    """The values of `LEARNED_FIELDS` for one chunk."""

    quality_score: float = NEUTRAL_QUALITY_SCORE
    feedback_score: float = NEUTRAL_QUALITY_SCORE
    access_count: int = 0
    feedback_count: int = 0
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    archived: bool = False
    assigned_owner: str | None = None


def _learned_fields(previous: StoredChunk | None, page_chunks: dict[str, StoredChunk]) -> _Learned:
    """Keep what votes and reviews taught us; a new chunk of a page inherits the page's review and the
    admins' decisions about it (hidden, a new owner)."""
    if previous is not None:
        return _Learned(**{name: getattr(previous.metadata, name) for name in LEARNED_FIELDS})
    page = next(iter(page_chunks.values()), None)
    decisions = {name: getattr(page.metadata, name) for name in PAGE_DECISION_FIELDS} if page else {}
    reviewed = [c.metadata for c in page_chunks.values() if c.metadata.reviewed_at is not None]
    if not reviewed:
        return _Learned(**decisions)
    latest = max(reviewed, key=lambda m: m.reviewed_at or m.created_at)
    return _Learned(reviewed_by=latest.reviewed_by, reviewed_at=latest.reviewed_at, **decisions)


def _embedding_of(planned: _Planned) -> tuple[float, ...]:
    """The chunk's vector: freshly computed, or reused from a stored chunk with the same embedding input."""
    if planned.embedding is not None:
        return planned.embedding
    if planned.same_content is None or planned.same_content.embedding is None:
        raise AssertionError(f"chunk {planned.chunk_id} has no embedding to write")
    return planned.same_content.embedding


def _differs(existing: StoredChunk, metadata: ChunkMetadata) -> bool:
    """Whether stored metadata needs rewriting. Learned fields and the write time do not count: the sync
    never writes the first, and rewriting only to move the second would churn every chunk."""
    stored = to_chroma_metadata(existing.metadata)
    desired = to_chroma_metadata(metadata)
    for name in (*LEARNED_FIELDS, "ingested_at"):
        stored.pop(name)
        desired.pop(name)
    return stored != desired
