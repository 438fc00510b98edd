"""Builds the product's parts from settings: the one place that picks cloud forms or embedded defaults.

Entry points (CLI, jobs, functions) call these and nothing else to get a store, a source or a syncer, so
"which implementation runs here" is decided in exactly one module.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from common.access_tracking import AccessRecorder
from common.blob_store import GcsBlobStore
from common.config import Settings
from common.confluence.folder_source import FolderPageSource
from common.confluence.models import PageSource
from common.confluence.rest_source import RestPageSource
from common.embeddings import embedder_from_settings
from common.enrichment import Enricher, OfflineEnricher
from common.errors import ConfigError
from common.events import EventPublisher, SpoolPublisher
from common.indexing import Indexer
from common.keyword_artifact import BucketArtifact, FolderArtifact, KeywordArtifact
from common.keyword_cache import KeywordIndexCache
from common.llm import LlmClient
from common.llm_enrichment import LlmEnricher
from common.ranking import RankingWeights
from common.search import HybridRetriever
from common.sync import ProgressCallback, Synchronizer, SyncSummary
from common.vectorstore import ChunkStore


def build_source(settings: Settings, *, from_dir: Path | None = None) -> PageSource:
    """An explicit folder wins, then configured Confluence, then the bundled sample space."""
    if from_dir is not None:
        return FolderPageSource(from_dir)
    if settings.confluence_configured:
        if not settings.space_keys:
            raise ConfigError(
                "CONFLUENCE_URL is set but CONFLUENCE_SPACES is empty: list the space keys to sync."
            )
        return RestPageSource.from_settings(settings)
    return FolderPageSource(settings.sample_space_dir)


def build_keyword_artifact(settings: Settings, collection: str) -> KeywordArtifact:
    """One tar file in the bucket when GCS_BUCKET is set (instances share no disk); else a folder."""
    if settings.gcs_bucket:
        return BucketArtifact(
            blobs=GcsBlobStore.from_settings(settings), name=f"keyword-index/{collection}.tar"
        )
    return FolderArtifact(settings.kb_home / "keyword-index" / collection)


def build_keyword_cache(settings: Settings, store: ChunkStore) -> KeywordIndexCache:
    return KeywordIndexCache(
        store=store,
        artifact=build_keyword_artifact(settings, store.collection_name),
        refresh_seconds=settings.keyword_refresh_seconds,
    )


def build_retriever(settings: Settings, store: ChunkStore) -> HybridRetriever:
    return HybridRetriever(
        store=store,
        embedder=embedder_from_settings(settings),
        keywords=build_keyword_cache(settings, store),
        alpha=settings.search_alpha,
        candidates=settings.search_candidates,
        max_per_page=settings.search_max_per_page,
        weights=RankingWeights.from_settings(settings),
    )


def build_publisher(settings: Settings) -> EventPublisher:
    """The embedded spool under KB_HOME; the Pub/Sub publisher joins here with the analytics work."""
    return SpoolPublisher(settings.kb_home / "spool")


def build_access_recorder(settings: Settings, store: ChunkStore) -> AccessRecorder:
    return AccessRecorder(
        store=store,
        publisher=build_publisher(settings),
        lock_file=settings.kb_home / "locks" / f"access-{store.collection_name}.lock",
    )


def build_enricher(settings: Settings) -> Enricher:
    """The LLM enricher only when an LLM is configured; otherwise the offline one."""
    if settings.llm_api_url:
        return LlmEnricher(LlmClient.from_settings(settings))
    return OfflineEnricher(embedder_from_settings(settings))


def build_synchronizer(settings: Settings, *, source: PageSource, store: ChunkStore) -> Synchronizer:
    indexer = Indexer(
        store=store,
        embedder=embedder_from_settings(settings),
        enricher=build_enricher(settings),
        source_kind=source.kind,
        default_classification=source.default_classification or settings.default_classification,
        max_tokens=settings.chunk_max_tokens,
        user_name=source.user_name,
    )
    return Synchronizer(
        source=source,
        store=store,
        indexer=indexer,
        overlap=timedelta(minutes=settings.confluence_sync_overlap_minutes),
    )


def run_sync(
    settings: Settings,
    *,
    source: PageSource,
    spaces: list[str] | None = None,
    full: bool = False,
    progress: ProgressCallback | None = None,
) -> SyncSummary:
    """Sync, then rebuild the keyword index when chunks changed (or none was ever built), so searches in
    every process pick up the new artifact instead of each rebuilding it."""
    store = ChunkStore.from_settings(settings)
    summary = build_synchronizer(settings, source=source, store=store).run(
        spaces=spaces, full=full, progress=progress
    )
    keywords = build_keyword_cache(settings, store)
    if summary.pages_changed or summary.pages_deleted or not keywords.has_artifact():
        keywords.rebuild()
    return summary
