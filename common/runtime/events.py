"""Analytics events: where they wait to be ingested, and the months' part files they are stored in.

Publishing is `common.runtime.publishing`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from common.analytics.ingest import (
    BufferedEventsSource,
    EventSource,
    IngestSummary,
    PubSubSource,
    Sources,
    SpoolSource,
    ingest,
)
from common.analytics.period_files import PREFIX as ANALYTICS_PREFIX
from common.analytics.period_files import PeriodFiles
from common.config import Settings
from common.infra.pubsub import PubSubPublisher, subscriber_client
from common.infra.write_once_files import BucketWriteOnceFiles, FolderWriteOnceFiles
from common.runtime.infra import build_blob_store
from common.runtime.publishing import build_event_buffer


def build_period_files(settings: Settings) -> PeriodFiles:
    if settings.gcs_bucket:
        return PeriodFiles(BucketWriteOnceFiles(build_blob_store(settings), prefix=ANALYTICS_PREFIX))
    return PeriodFiles(FolderWriteOnceFiles(settings.kb_home / "analytics"))


def ingest_waiting_events(settings: Settings, **options: Any) -> IngestSummary:
    """What the ingest job, `kb analytics ingest` and `kb report` on one machine run: every waiting event
    into the part files, then compaction of the months that gathered too many parts."""
    return ingest(
        build_event_source(settings),
        build_period_files(settings),
        parts_per_compaction=settings.analytics_parts_per_compaction,
        **options,
    )


def build_event_source(settings: Settings) -> EventSource:
    """The analytics subscription and the event buffer in the cloud, the spool on one machine."""
    if not settings.gcp_project:
        return SpoolSource(settings.kb_home / "spool")
    subscription = PubSubSource(
        subscription=f"projects/{settings.gcp_project}/subscriptions/{settings.analytics_subscription}",
        subscriber=subscriber_client(settings.pubsub_endpoint),
        dead_letters=PubSubPublisher(
            settings.gcp_project, settings.analytics_dead_letter_topic, endpoint=settings.pubsub_endpoint
        ),
    )
    buffered = BufferedEventsSource(build_event_buffer(settings), dead_letter=subscription.dead_letter)
    return Sources([subscription, buffered])


@contextmanager
def analytics_copies(settings: Settings) -> Iterator[list[Path]]:
    """Local copies of every analytics part file, deleted after the block."""
    with tempfile.TemporaryDirectory(prefix="kb-analytics-") as scratch:
        yield build_period_files(settings).local_copies(Path(scratch))
