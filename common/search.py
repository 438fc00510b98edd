"""Finding the passages that answer a question.

Dense retrieval over Chroma for now: the query is embedded with the same model as the chunks and the
nearest chunks by cosine distance are returned with everything a citation needs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from common.config import Settings
from common.embeddings import embedder_from_settings
from common.vectorstore import ChunkStore


@dataclass(frozen=True, slots=True)
class SearchHit:
    chunk_id: str
    score: float
    text: str
    page_id: str
    page_title: str
    url: str
    space_key: str
    parent_headers: tuple[str, ...]
    chunk_type: str
    owner: str
    updated_at: str
    quality_score: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def dense_search(
    settings: Settings, store: ChunkStore, query: str, *, top_k: int, space_key: str | None = None
) -> list[SearchHit]:
    vector = embedder_from_settings(settings).embed([query])[0]
    where = {"space_key": space_key} if space_key else None
    return [
        SearchHit(
            chunk_id=chunk.id,
            score=1.0 - distance,
            text=chunk.text,
            page_id=chunk.metadata.page_id,
            page_title=chunk.metadata.page_title,
            url=chunk.metadata.url,
            space_key=chunk.metadata.space_key,
            parent_headers=chunk.metadata.parent_headers,
            chunk_type=chunk.metadata.chunk_type,
            owner=chunk.metadata.owner,
            updated_at=chunk.metadata.updated_at.isoformat(),
            quality_score=chunk.metadata.quality_score,
        )
        for chunk, distance in store.query([float(v) for v in vector], n_results=top_k, where=where)
    ]
