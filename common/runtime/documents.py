"""Documents: the workflow state (`workflow/kb.duckdb` in the bucket, else under KB_HOME), where approved
versions are published (Confluence when configured, else the knowledge base itself), who hears of them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from common.config import Settings
from common.documents.drafting import Drafter, LlmDrafter, OfflineDrafter
from common.documents.notices import LoggedNotices
from common.documents.publishing import ConfluencePublisher, IndexPublisher, Publisher
from common.documents.service import DocumentNotices, DocumentService
from common.documents.store import WorkflowStore
from common.documents.workflow import DocumentWorkflow
from common.runtime.ai import build_llm_client
from common.runtime.infra import build_claims, build_versioned_files, build_web_client
from common.runtime.ingestion import build_indexer
from common.runtime.publishing import build_publisher
from common.runtime.sources import build_rest_source
from common.slack.document_notices import SlackDocumentNotices
from common.store.chunk_store import ChunkStore

PUBLISH_LEASE_SECONDS = 600.0
"""Longer than writing a page and indexing it takes; a publish whose instance died is retried after it."""


def build_document_workflow(settings: Settings) -> DocumentWorkflow:
    return DocumentWorkflow(
        WorkflowStore(build_versioned_files(settings, "workflow")),
        required_approvals=settings.doc_required_approvals,
    )


def build_document_publisher(settings: Settings, store: ChunkStore) -> Publisher:
    """Through the same indexer as the sync of that source, so the next sync finds nothing to change."""
    if settings.confluence_url is not None:
        confluence = build_rest_source(settings)
        return ConfluencePublisher(
            confluence=confluence,
            indexer=lambda: build_indexer(
                settings, store, source_kind=confluence.kind, user_name=confluence.user_name
            ),
        )
    return IndexPublisher(
        indexer=lambda: build_indexer(settings, store, source_kind="folder"), link_base=settings.doc_link_base
    )


def build_document_notices(settings: Settings) -> DocumentNotices:
    """Slack DMs when a Slack app is configured; otherwise the notices are logged."""
    if settings.slack_bot_token is None:
        return LoggedNotices()
    return SlackDocumentNotices(build_web_client(settings))


def build_drafter(settings: Settings) -> Drafter:
    if settings.llm_configured:
        return LlmDrafter(build_llm_client(settings))
    return OfflineDrafter()


def build_document_service(
    settings: Settings, store: ChunkStore, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> DocumentService:
    """`clock` decides when requests are sent again and approvers reminded (tests move it)."""
    return DocumentService(
        workflow=build_document_workflow(settings),
        publisher=build_document_publisher(settings, store),
        notices=build_document_notices(settings),
        events=build_publisher(settings),
        claims=build_claims(settings, "document-publishing", lease_seconds=PUBLISH_LEASE_SECONDS),
        reminder_after=timedelta(days=settings.doc_review_reminder_days),
        clock=clock,
    )
