"""The product's runs as the entry points make them, for tests and benches to call in one line."""

from __future__ import annotations

from typing import Any

from common.analytics.ingest import IngestSummary
from common.config import Settings
from common.confluence.models import PageSource
from common.ingestion.sync import SyncSummary
from common.runtime.events import ingest_waiting_events
from common.runtime.ingestion import build_synchronizer
from common.runtime.store import build_store


def run_sync(settings: Settings, *, source: PageSource, **options: Any) -> SyncSummary:
    """What `kb sync` and the sync job do: sync `source` into the configured store, then the keyword index."""
    return build_synchronizer(settings, source=source, store=build_store(settings)).run(**options)


def run_analytics_ingest(settings: Settings, **options: Any) -> IngestSummary:
    """What `kb analytics ingest` and the ingest job do."""
    return ingest_waiting_events(settings, **options)
