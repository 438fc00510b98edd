"""Shared plumbing: the bucket, claims, small records that must outlive an instance, the Slack client."""

from __future__ import annotations

from pathlib import Path

from slack_sdk import WebClient

from common.config import Settings
from common.errors import ConfigError
from common.infra.blob_store import GcsBlobStore
from common.infra.claims import BucketClaims, Claims, FolderClaims
from common.infra.record_files import BucketRecordFiles, FolderRecordFiles, RecordFiles
from common.infra.versioned_files import BucketFiles, FolderFiles, VersionedFiles
from common.slack.client import web_client


def build_blob_store(
    settings: Settings, *, bucket: str | None = None, retry_seconds: float = 60.0
) -> GcsBlobStore:
    """`GCS_BUCKET`, or another bucket reached the same way (a backup location)."""
    name = bucket or settings.gcs_bucket
    if not name:
        raise ConfigError("GCS_BUCKET is not set: name the bucket for artifacts and analytics files.")
    return GcsBlobStore.connect(
        bucket=name, endpoint=settings.gcs_endpoint, project=settings.gcp_project, retry_seconds=retry_seconds
    )


def build_claims(settings: Settings, purpose: str, *, lease_seconds: float) -> Claims:
    """Shared by every instance through the bucket in the cloud; a folder under KB_HOME on one machine."""
    if settings.gcs_bucket:
        return BucketClaims(
            build_blob_store(settings), prefix=f"claims/{purpose}/", lease_seconds=lease_seconds
        )
    return FolderClaims(settings.kb_home / "claims" / purpose, lease_seconds=lease_seconds)


def build_record_files(settings: Settings, purpose: str) -> RecordFiles:
    """In the bucket when there is one (a Cloud Run instance's disk dies with it), else under KB_HOME."""
    if settings.gcs_bucket:
        return BucketRecordFiles(build_blob_store(settings), prefix=f"{purpose}/")
    return FolderRecordFiles(Path(settings.kb_home) / purpose)


def build_versioned_files(settings: Settings, purpose: str) -> VersionedFiles:
    """Small shared files changed by compare-and-swap: under `purpose/` in the bucket, else in KB_HOME."""
    if settings.gcs_bucket:
        return BucketFiles(build_blob_store(settings), prefix=f"{purpose}/")
    return FolderFiles(settings.kb_home / purpose)


def build_web_client(settings: Settings) -> WebClient:
    if settings.slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set: give the Slack app's bot token (xoxb-…).")
    return web_client(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
