"""Builds the product's parts from settings: the one place that picks cloud forms or embedded defaults.

Entry points (CLI, jobs, functions) call these and nothing else to get a store, a source or a syncer, so
"which implementation runs here" is decided in exactly one module.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from common.access_tracking import AccessRecorder
from common.analytics_ingest import EventSource, IngestSummary, PubSubSource, SpoolSource, ingest
from common.answers.extractive import answer_writer_from_settings
from common.blob_store import GcsBlobStore
from common.chunks import Classification, SourceKind
from common.claims import BucketClaims, Claims, FolderClaims
from common.config import Settings
from common.confluence.folder_source import FolderPageSource
from common.confluence.models import PageSource
from common.confluence.rest_source import RestPageSource
from common.decay import DecayProgress, DecaySummary, run_decay
from common.embeddings import embedder_from_settings
from common.enrichment import Enricher, OfflineEnricher
from common.errors import ConfigError
from common.event_publishing import PubSubEventPublisher
from common.events import EventPublisher, PseudonymisingPublisher, SpoolPublisher
from common.feedback import FeedbackService
from common.indexing import Indexer
from common.keyword_artifact import BucketArtifact, FolderArtifact, KeywordArtifact
from common.keyword_cache import KeywordIndexCache
from common.llm import LlmClient
from common.llm_enrichment import LlmEnricher
from common.owner_notifications import OwnerNotifier, Problem
from common.pending_votes import BucketFiles, FolderFiles, PendingVotes
from common.period_files import BucketPeriodFiles, FolderPeriodFiles, PeriodFiles
from common.pubsub_queue import PubSubPublisher
from common.quality import QualityPolicy
from common.quality_writer import QualityWriter
from common.ranking import RankingWeights
from common.search import HybridRetriever
from common.slack.answering import AnswerService
from common.slack.channel_policy import ChannelPolicy
from common.slack.client import web_client
from common.slack.interactions import InteractionHandler
from common.slack.quick_knowledge_flow import QuickKnowledgeFlow
from common.sync import ProgressCallback, Synchronizer, SyncSummary
from common.vectorstore import ChunkStore
from common.votes import VoteStore


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


_background_publishers: list[PubSubEventPublisher] = []


@cache
def build_publisher(settings: Settings) -> EventPublisher:
    """Pub/Sub (`ANALYTICS_TOPIC`) in the cloud, with a local retry buffer; the spool under KB_HOME on one
    machine. One per process and settings: every part of a function shares its background sender. User ids
    are pseudonymised here when ANALYTICS_USER_SALT is set."""
    publisher: EventPublisher
    if settings.gcp_project:
        topic = PubSubPublisher(
            settings.gcp_project, settings.analytics_topic, endpoint=settings.pubsub_endpoint
        )
        publisher = PubSubEventPublisher(topic, buffer_dir=settings.kb_home / "event-buffer")
        _background_publishers.append(publisher)
    else:
        publisher = SpoolPublisher(settings.kb_home / "spool")
    if settings.analytics_user_salt:
        return PseudonymisingPublisher(publisher, salt=settings.analytics_user_salt.get_secret_value())
    return publisher


@atexit.register
def close_publishers() -> None:
    """Send what the background publishers still hold and stop their threads, so a process that ends (or a
    test that changes settings) neither loses queued events nor leaves a sender running for old settings."""
    while _background_publishers:
        _background_publishers.pop().close()
    build_publisher.cache_clear()


def build_period_files(settings: Settings) -> PeriodFiles:
    if settings.gcs_bucket:
        return BucketPeriodFiles(GcsBlobStore.from_settings(settings))
    return FolderPeriodFiles(settings.kb_home / "analytics")


def run_analytics_ingest(
    settings: Settings, *, max_batches: int | None = None, progress: Callable[[int], None] | None = None
) -> IngestSummary:
    """From the analytics subscription in the cloud, from the spool on one machine."""
    source: EventSource = (
        PubSubSource.from_settings(settings)
        if settings.gcp_project
        else SpoolSource(settings.kb_home / "spool")
    )
    return ingest(source, build_period_files(settings), max_batches=max_batches, progress=progress)


def build_access_recorder(settings: Settings, store: ChunkStore) -> AccessRecorder:
    return AccessRecorder(
        store=store,
        publisher=build_publisher(settings),
        lock_file=settings.kb_home / "locks" / f"access-{store.collection_name}.lock",
    )


def build_quality_writer(settings: Settings, store: ChunkStore) -> QualityWriter:
    return QualityWriter(store=store, votes=VoteStore(store), policy=QualityPolicy.from_settings(settings))


def build_pending_votes(settings: Settings) -> PendingVotes:
    """In the bucket when there is one (a Cloud Run instance's disk dies with it), else under KB_HOME."""
    if settings.gcs_bucket:
        return PendingVotes(BucketFiles(GcsBlobStore.from_settings(settings)))
    return PendingVotes(FolderFiles(settings.kb_home / "pending-votes"))


def build_feedback(settings: Settings, store: ChunkStore, *, publisher: EventPublisher) -> FeedbackService:
    """Owners are notified only when a Slack bot token is configured."""
    notifier = (
        OwnerNotifier(store=store, slack=web_client(settings), publisher=publisher)
        if settings.slack_bot_token
        else None
    )
    return FeedbackService(
        writer=build_quality_writer(settings, store),
        pending=build_pending_votes(settings),
        publisher=publisher,
        notifier=notifier,
    )


def build_interaction_handler(settings: Settings, store: ChunkStore) -> InteractionHandler:
    if settings.slack_signing_secret is None:
        raise ConfigError("SLACK_SIGNING_SECRET is not set: copy it from the Slack app's Basic Information.")
    publisher = build_publisher(settings)
    slack = web_client(settings)

    def quick_knowledge(later: Callable[[Callable[[], None]], None]) -> QuickKnowledgeFlow:
        return QuickKnowledgeFlow(
            slack=slack,
            indexer=lambda: build_indexer(settings, store, source_kind="slack"),
            space_key=settings.slack_knowledge_space,
            later=later,
        )

    return InteractionHandler(
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        feedback=build_feedback(settings, store, publisher=publisher),
        slack=slack,
        publisher=publisher,
        quick_knowledge=quick_knowledge,
    )


def run_quality_decay(
    settings: Settings, *, now: datetime | None = None, progress: DecayProgress | None = None
) -> DecaySummary:
    """Count votes kept during an outage, sweep decay over every chunk, then tell owners whose pages
    the sweep pushed under the alert threshold."""
    store = ChunkStore.from_settings(settings)
    publisher = build_publisher(settings)
    feedback = build_feedback(settings, store, publisher=publisher)
    feedback.replay_pending()
    summary = run_decay(store, feedback.writer.policy, now=now, progress=progress)
    publisher.publish([summary.report])
    for page_id in summary.pages_fell_under_threshold:
        feedback.notify_owners_of(Problem(page_id=page_id, kind="low_quality"))
    return summary


def build_claims(settings: Settings, purpose: str) -> Claims:
    """Shared by every instance through the bucket in the cloud; a folder under KB_HOME on one machine."""
    if settings.gcs_bucket:
        return BucketClaims(GcsBlobStore.from_settings(settings), prefix=f"claims/{purpose}/")
    return FolderClaims(settings.kb_home / "claims" / purpose)


def build_answer_service(settings: Settings, store: ChunkStore) -> AnswerService:
    recorder = build_access_recorder(settings, store)
    recorder.start()
    return AnswerService(
        slack=web_client(settings),
        retriever=build_retriever(settings, store),
        writer=answer_writer_from_settings(settings, embedder_from_settings(settings)),
        claims=build_claims(settings, "answered-events"),
        policy=ChannelPolicy.from_settings(settings),
        recorder=recorder,
        publisher=build_publisher(settings),
    )


def build_enricher(settings: Settings) -> Enricher:
    """The LLM enricher only when an LLM is configured; otherwise the offline one."""
    if settings.llm_api_url:
        return LlmEnricher(LlmClient.from_settings(settings))
    return OfflineEnricher(embedder_from_settings(settings))


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
        embedder=embedder_from_settings(settings),
        enricher=build_enricher(settings),
        source_kind=source_kind,
        default_classification=default_classification or settings.default_classification,
        max_tokens=settings.chunk_max_tokens,
        user_name=user_name,
        quality=build_quality_writer(settings, store),
    )


def build_synchronizer(settings: Settings, *, source: PageSource, store: ChunkStore) -> Synchronizer:
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
