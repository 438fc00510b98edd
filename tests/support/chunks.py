"""Building chunks for tests that are about the store, not about parsing pages."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from common.store.chunk import Chunk, ChunkMetadata

DIMENSION = 384


def unit_vector(seed: int, dimension: int = DIMENSION) -> tuple[float, ...]:
    """A deterministic normalised vector, distinct per seed."""
    raw = [math.sin(seed * 7.13 + i * 0.37) for i in range(dimension)]
    norm = math.sqrt(sum(v * v for v in raw))
    return tuple(v / norm for v in raw)


def make_chunk(page_id: str = "p1", index: int = 0, *, space_key: str = "HB", **overrides: Any) -> Chunk:
    fields: dict[str, Any] = {
        "page_id": page_id,
        "page_title": f"Page {page_id}",
        "chunk_type": "text",
        "chunk_index": index,
        "space_key": space_key,
        "url": f"https://larkspur.example/wiki/spaces/{space_key}/pages/{page_id}",
        "author": "priya.raman@larkspur.example",
        "created_at": datetime(2025, 3, 2, tzinfo=UTC),
        "updated_at": datetime(2026, 9, 14, tzinfo=UTC),
        "owner": "priya.raman@larkspur.example",
        "topics": ("vpn", "remote-work"),
        "parent_headers": ("Setup", "Linux"),
        "content_hash": f"hash-{page_id}-{index}",
        "ingested_at": 1_700_000_000.0,
    }
    fields.update(overrides)
    seed = abs(hash((page_id, index))) % 10_000
    return Chunk(
        id=f"{page_id}-{index}",
        text=f"Text of chunk {index} of page {page_id}.",
        metadata=ChunkMetadata(**fields),
        embedding=unit_vector(seed),
    )
