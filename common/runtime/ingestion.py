"""Ingestion: the indexer every page goes through and the synchroniser that feeds it from a source."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from common.config import Settings
from common.confluence.models import PageSource
from common.ingestion.indexer import Indexer
from common.ingestion.sync import Synchronizer
from common.runtime.ai import build_embedder, build_enricher
from common.runtime.quality import build_quality_writer
from common.runtime.search import build_keyword_cache
from common.store.chunk import Classification, SourceKind
from common.store.chunk_store import ChunkStore


def build_indexer(
    settings: Settings,
    store: ChunkStore,
    *,
    source_kind: SourceKind,
    default_classification: Classification | None = None,
    user_name: Callable[[str], str | None] = lambda _: None,
) -> Indexer:
    return Indexer(
        store=store,
        embedder=build_embedder(settings),
        enricher=build_enricher(settings),
        source_kind=source_kind,
        default_classification=default_classification or settings.default_classification,
        max_tokens=settings.chunk_max_tokens,
        user_name=user_name,
        quality=build_quality_writer(settings, store),
    )


def build_synchronizer(settings: Settings, *, source: PageSource, store: ChunkStore) -> Synchronizer:
    """The keyword index is rebuilt by the sync whenever it changed something."""
    indexer = build_indexer(
        settings,
        store,
        source_kind=source.kind,
        default_classification=source.default_classification,
        user_name=source.user_name,
    )
    return Synchronizer(
        source=source,
        store=store,
        indexer=indexer,
        overlap=timedelta(minutes=settings.confluence_sync_overlap_minutes),
        derived=build_keyword_cache(settings, store),
    )
