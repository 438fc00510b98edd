"""Quality: the policy, the writer every vote and review goes through, and who tells owners."""

from __future__ import annotations

from datetime import timedelta

from common.config import Settings
from common.events.publishers import EventPublisher
from common.quality.escalation import NegativeReportWatch
from common.quality.feedback import FeedbackService
from common.quality.model import QualityPolicy
from common.quality.notices import OwnerNotices
from common.quality.pending import PendingWrites
from common.quality.writer import QualityWriter
from common.runtime.infra import build_claims, build_record_files, build_web_client
from common.runtime.permissions import build_access_resolver
from common.runtime.publishing import build_publisher
from common.slack.admin_channel import AdminChannel
from common.slack.escalation_flow import SlackEscalations
from common.slack.owner_notices import SlackOwnerNotices
from common.store.chunk_store import ChunkStore
from common.store.votes import VoteStore

OWNER_DIGEST_LEASE_SECONDS = 60.0
"""Longer than posting one DM takes, retries included; a digest whose poster died is posted after it."""
ADMIN_MESSAGE_LEASE_SECONDS = 60.0
"""The same for a message to the admin channel."""


def build_quality_policy(settings: Settings) -> QualityPolicy:
    return QualityPolicy(
        points={
            "helpful": settings.quality_vote_helpful,
            "not_helpful": -settings.quality_vote_not_helpful,
            "outdated": -settings.quality_vote_outdated,
            "incorrect": -settings.quality_vote_incorrect,
        },
        review_interval=timedelta(days=settings.review_interval_days),
        floor=settings.quality_decay_floor,
        half_life_days=settings.quality_decay_half_life_days,
        alert_threshold=settings.quality_alert_threshold,
    )


def build_quality_writer(settings: Settings, store: ChunkStore) -> QualityWriter:
    return QualityWriter(store=store, votes=VoteStore(store), policy=build_quality_policy(settings))


def build_pending_writes(settings: Settings) -> PendingWrites:
    return PendingWrites(
        votes=build_record_files(settings, "pending-votes"),
        reviews=build_record_files(settings, "pending-reviews"),
    )


def build_admin_channel(settings: Settings) -> AdminChannel | None:
    """The knowledge admins' channel when KNOWLEDGE_ADMIN_CHANNEL is set (SLACK_BOT_TOKEN must be too)."""
    if settings.knowledge_admin_channel is None:
        return None
    return AdminChannel(
        slack=build_web_client(settings),
        channel=settings.knowledge_admin_channel,
        claims=build_claims(settings, "admin-messages", lease_seconds=ADMIN_MESSAGE_LEASE_SECONDS),
    )


def build_escalations(settings: Settings, store: ChunkStore) -> SlackEscalations | None:
    admin = build_admin_channel(settings)
    if admin is None:
        return None
    return SlackEscalations(admin=admin, store=store, publisher=build_publisher(settings))


def build_owner_notices(settings: Settings, store: ChunkStore) -> OwnerNotices | None:
    """Owners are told in Slack only when a Slack bot token is configured."""
    if settings.slack_bot_token is None:
        return None
    return SlackOwnerNotices(
        store=store,
        slack=build_web_client(settings),
        publisher=build_publisher(settings),
        claims=build_claims(settings, "owner-digests", lease_seconds=OWNER_DIGEST_LEASE_SECONDS),
        owner_access=build_access_resolver(settings).for_email,
        escalations=build_escalations(settings, store),
    )


def build_feedback(
    settings: Settings, store: ChunkStore, *, publisher: EventPublisher | None = None
) -> FeedbackService:
    escalations = build_escalations(settings, store)
    watch = (
        NegativeReportWatch(
            store=store,
            votes=VoteStore(store),
            escalations=escalations,
            threshold=settings.escalation_negative_reports,
            window=timedelta(hours=settings.escalation_window_hours),
        )
        if escalations is not None
        else None
    )
    return FeedbackService(
        writer=build_quality_writer(settings, store),
        pending=build_pending_writes(settings),
        publisher=publisher or build_publisher(settings),
        notifier=build_owner_notices(settings, store),
        watch=watch,
    )
