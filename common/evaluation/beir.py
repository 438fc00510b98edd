"""Retrieval quality on a BEIR-format test collection, for the three modes the product can run in.

The corpus is indexed once into its own collection under KB_HOME (one chunk per document: title and text,
truncated by the model like any chunk) and reused by later runs with the same corpus file. Every query is
then run dense-only, keyword-only and hybrid through the same code that serves employees, and scored with
nDCG@10, Recall@100 and MRR@10.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from common.ai.embeddings import Embedder
from common.errors import BeirFormatError
from common.evaluation.metrics import Judgements, mrr_at, ndcg_at, recall_at
from common.events.model import EvalResult
from common.ingestion.chunk_identity import content_hash, embedding_input
from common.search.filters import SearchFilters
from common.search.keyword_cache import KeywordIndexCache
from common.search.retriever import HybridRetriever
from common.store.access import EVERYONE
from common.store.chunk import Chunk, ChunkMetadata
from common.store.chunk_store import ChunkStore

INDEX_BATCH = 256
DEPTH = 100
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ModeScores:
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    queries: int

    def as_dict(self) -> dict[str, float]:
        return {
            "ndcg@10": round(self.ndcg_at_10, 4),
            "recall@100": round(self.recall_at_100, 4),
            "mrr@10": round(self.mrr_at_10, 4),
        }


def read_jsonl(path: Path) -> Iterator[dict[str, str]]:
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise BeirFormatError(f"{path}:{number} is not JSON: {exc.msg}") from exc
    except FileNotFoundError as exc:
        raise BeirFormatError(f"{path} does not exist.") from exc


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    try:
        rows = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise BeirFormatError(f"{path} does not exist.") from exc
    for number, row in enumerate(rows[1:], start=2):
        fields = row.split("\t")
        if len(fields) != 3 or not fields[2].strip().lstrip("-").isdigit():
            raise BeirFormatError(f"{path}:{number} should be 'query-id<TAB>corpus-id<TAB>score'.")
        qrels.setdefault(fields[0], {})[fields[1]] = int(fields[2])
    return qrels


@dataclass(frozen=True, slots=True)
class Retrievers:
    """A corpus's own collection and the three ways of searching it, built by the wiring."""

    store: ChunkStore
    embedder: Embedder
    keywords: KeywordIndexCache
    hybrid: HybridRetriever


def evaluate(
    retrievers: Retrievers,
    *,
    corpus: Path,
    queries: Path,
    qrels: Path,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, ModeScores]:
    """`retrievers.store` is the collection `collection_for(corpus)` names; it is indexed on first use."""
    judgements = read_qrels(qrels)
    texts = {q["_id"]: q["text"] for q in read_jsonl(queries) if q["_id"] in judgements}
    store, embedder = retrievers.store, retrievers.embedder
    _index_corpus(retrievers, corpus, progress)
    keywords = retrievers.keywords.get()
    retriever = retrievers.hybrid
    everything = SearchFilters(max_classification="confidential")
    runs: dict[str, dict[str, list[str]]] = {"dense": {}, "keyword": {}, "hybrid": {}}
    for done, (query_id, text) in enumerate(texts.items(), start=1):
        vector = [float(v) for v in embedder.embed([text])[0]]
        runs["dense"][query_id] = [c.metadata.page_id for c, _ in store.query(vector, n_results=DEPTH)]
        runs["keyword"][query_id] = [_doc(hit.chunk_id) for hit in keywords.search(text, k=DEPTH)]
        runs["hybrid"][query_id] = [
            r.page_id for r in retriever.search(text, top_k=DEPTH, filters=everything, reader=EVERYONE)
        ]
        if done % 100 == 0:
            progress(f"{done}/{len(texts)} queries")
    return {mode: _score(ranked, judgements) for mode, ranked in runs.items()}


def eval_events(scores: dict[str, ModeScores], *, corpus: Path, qrels: Path) -> list[EvalResult]:
    """One `EvalResult` per mode, sharing a run id, so reports can follow quality across runs."""
    run_id = uuid.uuid4().hex
    return [
        EvalResult(
            run_id=run_id,
            dataset=corpus.parent.name,
            qrels=qrels.name,
            mode=mode,
            ndcg_at_10=s.ndcg_at_10,
            recall_at_100=s.recall_at_100,
            mrr_at_10=s.mrr_at_10,
            queries=s.queries,
        )
        for mode, s in scores.items()
    ]


def _score(ranked: dict[str, list[str]], judgements: dict[str, dict[str, int]]) -> ModeScores:
    count = max(1, len(ranked))
    empty: Judgements = {}
    return ModeScores(
        queries=len(ranked),
        ndcg_at_10=sum(ndcg_at(docs, judgements.get(q, empty), 10) for q, docs in ranked.items()) / count,
        recall_at_100=sum(recall_at(docs, judgements.get(q, empty), 100) for q, docs in ranked.items())
        / count,
        mrr_at_10=sum(mrr_at(docs, judgements.get(q, empty), 10) for q, docs in ranked.items()) / count,
    )


def collection_for(corpus: Path) -> str:
    """One collection per corpus file content, so a changed corpus never reuses a stale index."""
    digest = hashlib.sha256(corpus.read_bytes()).hexdigest()[:12]
    return f"beir-{digest}"


def _index_corpus(retrievers: Retrievers, corpus: Path, progress: Callable[[str], None]) -> None:
    store, embedder = retrievers.store, retrievers.embedder
    documents = list(read_jsonl(corpus))
    if store.count() == len(documents):
        return
    for start in range(0, len(documents), INDEX_BATCH):
        batch = documents[start : start + INDEX_BATCH]
        inputs = [
            embedding_input(page_title=d.get("title") or d["_id"], parent_headers=(), text=d["text"])
            for d in batch
        ]
        vectors = embedder.embed(inputs)
        store.upsert(
            [
                Chunk(
                    id=f"doc-{d['_id']}",
                    text=d["text"],
                    metadata=_metadata(d, content_hash(embedder.model_id, text)),
                    embedding=tuple(float(v) for v in vector),
                )
                for d, text, vector in zip(batch, inputs, vectors, strict=True)
            ]
        )
        progress(f"indexed {min(start + INDEX_BATCH, len(documents))}/{len(documents)} documents")
    retrievers.keywords.rebuild()


def _metadata(document: dict[str, str], digest: str) -> ChunkMetadata:
    return ChunkMetadata(
        page_id=document["_id"],
        page_title=document.get("title") or document["_id"],
        chunk_type="text",
        chunk_index=0,
        space_key="BEIR",
        url="",
        author="",
        created_at=EPOCH,
        updated_at=EPOCH,
        owner="",
        content_hash=digest,
        ingested_at=1.0,
    )


def _doc(chunk_id: str) -> str:
    return chunk_id.removeprefix("doc-")
