"""Chunks gathered by the page they belong to: what the page-level views (the review queue, possibly
obsolete pages) judge, since a page is only as good as its worst passage."""

from __future__ import annotations

from common.store.chunk import ChunkMetadata
from common.store.chunk_store import ChunkStore


def chunks_by_page(store: ChunkStore, *, owner: str | None = None) -> dict[str, list[ChunkMetadata]]:
    """Every chunk's metadata by page id, swept a batch at a time. With `owner`, only the pages that person
    owns, compared without case: owners are emails, and people type them as they like."""
    wanted = owner.lower() if owner is not None else None
    pages: dict[str, list[ChunkMetadata]] = {}
    for batch in store.iter_metadata_pages():
        for meta in batch.values():
            if wanted is None or meta.owner.lower() == wanted:
                pages.setdefault(meta.page_id, []).append(meta)
    return pages
