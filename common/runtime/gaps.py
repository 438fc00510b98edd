"""Gaps and obsolescence: what the knowledge base lacks (gap topics, their weekly digest) and what it may hold
past its time (possibly obsolete pages), from the analytics files and the chunks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from common.analytics.gap_questions import bad_questions
from common.analytics.gaps import GapAnalysis
from common.analytics.page_usage import page_usage
from common.config import Settings
from common.quality.obsolescence import ObsoletePage, obsolete_pages, pages_by_url
from common.runtime.ai import build_embedder
from common.runtime.events import analytics_copies
from common.runtime.infra import build_claims, build_web_client
from common.runtime.publishing import build_publisher
from common.runtime.quality import build_admin_channel, build_quality_policy
from common.runtime.search import build_retriever
from common.slack.gap_digest import DigestSummary, GapDigest, week_of
from common.store.chunk_store import ChunkStore

DIGEST_DAYS = 7
MESSAGE_LEASE_SECONDS = 120.0
"""Longer than posting one message takes, retries included; a message whose sender died is sent after it."""


def build_gap_analysis(settings: Settings, store: ChunkStore) -> GapAnalysis:
    return GapAnalysis(
        embedder=build_embedder(settings),
        retriever=build_retriever(settings, store),
        min_questions=settings.gap_min_questions,
        similarity=settings.gap_similarity,
    )


def build_gap_digest(settings: Settings) -> GapDigest:
    return GapDigest(
        slack=build_web_client(settings),
        claims=build_claims(settings, "gap-digest", lease_seconds=MESSAGE_LEASE_SECONDS),
        admin=build_admin_channel(settings),
        publisher=build_publisher(settings),
    )


def run_weekly_gaps(settings: Settings, store: ChunkStore, *, now: datetime) -> DigestSummary:
    """The `weekly_gaps` job: the last DIGEST_DAYS days' gap topics, sent as this ISO week's digest."""
    digest = build_gap_digest(settings)  # first: a Slack setting missing fails before any work
    with analytics_copies(settings) as paths:
        questions = bad_questions(paths, since=now - timedelta(days=DIGEST_DAYS), until=now)
    return digest.send(build_gap_analysis(settings, store).topics(questions), week=week_of(now))


def possibly_obsolete(
    settings: Settings,
    store: ChunkStore,
    paths: Sequence[Path],
    *,
    now: datetime,
    owner: str | None = None,
) -> list[ObsoletePage]:
    """Obsolescence (`common.quality.obsolescence`) with the usage in the analytics files at `paths`."""
    return obsolete_pages(
        store,
        build_quality_policy(settings),
        page_usage(paths, pages_by_url=pages_by_url(store)),
        now=now,
        after_days=settings.obsolete_after_days,
        min_shown=settings.obsolete_min_shown,
        owner=owner,
    )
