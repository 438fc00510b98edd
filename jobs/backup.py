"""Cloud Run job, daily: back up the collection and its votes (see `kb backup`).

Sundays (UTC) go under `<location>/weekly`, other days under `<location>/daily`, so bucket lifecycle rules can
keep dailies for two weeks and weeklies for twelve (docs/operations.md). The location is `BACKUP_LOCATION`,
else `gs://<GCS_BUCKET>/backups`, else `KB_HOME/backups`.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from common.backup import backup, backup_target_from
from common.config import Settings
from common.embeddings import embedder_from_settings
from common.exit_codes import EXIT_OK
from common.job_runner import run_job
from common.vectorstore import ChunkStore


def _backup(settings: Settings) -> tuple[dict[str, object], int]:
    cadence = "weekly" if datetime.now(UTC).weekday() == 6 else "daily"
    location = f"{settings.backup_root}/{cadence}"
    manifest = backup(
        ChunkStore.from_settings(settings),
        backup_target_from(location, settings),
        model_id=embedder_from_settings(settings).model_id,
    )
    return {"location": location, "name": manifest.name, "chunks": manifest.chunk_count}, EXIT_OK


def main() -> int:
    return run_job("backup", _backup)


if __name__ == "__main__":
    sys.exit(main())
