"""Search: the keyword index and where its artifact lives, the hybrid retriever, access counting, the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from common.ai.query_batches import batched_queries
from common.config import Settings
from common.runtime.ai import build_embedder
from common.runtime.infra import build_blob_store
from common.runtime.permissions import build_access_resolver
from common.runtime.publishing import build_publisher
from common.search.access_tracking import AccessRecorder
from common.search.api import SearchEndpoint
from common.search.chunk_cache import CachedChunkReader
from common.search.keyword_artifact import BucketArtifact, FolderArtifact, KeywordArtifact
from common.search.keyword_cache import KeywordIndexCache
from common.search.ranking import RankingWeights
from common.search.retriever import HybridRetriever
from common.store.chunk_store import ChunkStore


def build_keyword_artifact(settings: Settings, collection: str) -> KeywordArtifact:
    """One tar file in the bucket when GCS_BUCKET is set (instances share no disk); else a folder."""
    if settings.gcs_bucket:
        return BucketArtifact(blobs=build_blob_store(settings), name=f"keyword-index/{collection}.tar")
    return FolderArtifact(settings.kb_home / "keyword-index" / collection)


def build_keyword_cache(settings: Settings, store: ChunkStore) -> KeywordIndexCache:
    return KeywordIndexCache(
        store=store,
        artifact=build_keyword_artifact(settings, store.collection_name),
        refresh_seconds=settings.keyword_refresh_seconds,
    )


def build_ranking_weights(settings: Settings) -> RankingWeights:
    return RankingWeights(
        quality_min=settings.search_quality_min,
        quality_max=settings.search_quality_max,
        freshness_max_bonus=settings.search_freshness_max_bonus,
        freshness_half_life_days=settings.search_freshness_half_life_days,
        verified_bonus=settings.search_verified_bonus,
        review_interval=timedelta(days=settings.review_interval_days),
    )


def build_retriever(settings: Settings, store: ChunkStore) -> HybridRetriever:
    """Questions are embedded in batches with those of concurrent searches (`common.ai.query_batches`)."""
    return HybridRetriever(
        store=store,
        chunks=CachedChunkReader(
            store, capacity=settings.search_cache_chunks, max_age_seconds=settings.search_cache_seconds
        ),
        embedder=batched_queries(build_embedder(settings)),
        keywords=build_keyword_cache(settings, store),
        alpha=settings.search_alpha,
        candidates=settings.search_candidates,
        max_per_page=settings.search_max_per_page,
        weights=build_ranking_weights(settings),
    )


def build_access_recorder(settings: Settings, store: ChunkStore) -> AccessRecorder:
    return AccessRecorder(
        store=store,
        publisher=build_publisher(settings),
        lock_file=settings.kb_home / "locks" / f"access-{store.collection_name}.lock",
    )


def build_search_endpoint(
    settings: Settings, *, retriever: Callable[[], HybridRetriever], recorder: Callable[[], AccessRecorder]
) -> SearchEndpoint:
    """The search API as both `functions/main.py` and `kb serve` serve it."""
    resolver = build_access_resolver(settings)
    return SearchEndpoint(
        api_key=settings.search_api_key.get_secret_value() if settings.search_api_key else None,
        as_user_api_key=(
            settings.search_as_user_api_key.get_secret_value() if settings.search_as_user_api_key else None
        ),
        retriever=retriever,
        recorder=recorder,
        access_of=lambda who: resolver.for_email(who) if "@" in who else resolver.for_account(who),
    )
