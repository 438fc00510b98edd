"""Builds the product's parts from settings: the one place that picks cloud forms or embedded defaults.

Entry points (CLI, jobs, functions) call these and nothing else to get a store, a source or a syncer, so
"which implementation runs here" is decided in exactly one module.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from common.config import Settings
from common.confluence.folder_source import FolderPageSource
from common.confluence.models import PageSource
from common.confluence.rest_source import RestPageSource
from common.embeddings import embedder_from_settings
from common.enrichment import Enricher, OfflineEnricher
from common.errors import ConfigError
from common.indexing import Indexer
from common.llm import LlmClient
from common.llm_enrichment import LlmEnricher
from common.sync import Synchronizer
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
