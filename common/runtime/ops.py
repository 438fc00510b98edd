"""Operations: where backups go (BACKUP_LOCATION, else the bucket, else KB_HOME)."""

from __future__ import annotations

from common.config import Settings
from common.ops.backup_files import BackupTarget, backup_target_from
from common.runtime.infra import build_blob_store


def build_backup_target(settings: Settings, location: str | None = None) -> BackupTarget:
    return backup_target_from(
        location or settings.backup_root, blobs_for=lambda bucket: build_blob_store(settings, bucket=bucket)
    )
