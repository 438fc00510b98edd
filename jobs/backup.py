"""Cloud Run job, daily: back up the collection and its votes (see `kb backup`).

Sundays (UTC) go under `<location>/weekly`, other days under `<location>/daily`, so bucket lifecycle rules can
keep dailies for two weeks and weeklies for twelve (docs/operations.md). The location is `BACKUP_LOCATION`,
else `gs://<GCS_BUCKET>/backups`, else `KB_HOME/backups`.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from common.config import Settings
from common.errors import EXIT_OK
from common.ops.backup import backup, retention_folder
from common.runtime.ai import build_embedder
from common.runtime.jobs import run_job
from common.runtime.ops import build_backup_target
from common.runtime.store import build_store


def _backup(settings: Settings) -> tuple[dict[str, object], int]:
    location = f"{settings.backup_root}/{retention_folder(datetime.now(UTC))}"
    manifest = backup(
        build_store(settings),
        build_backup_target(settings, location),
        model_id=build_embedder(settings).model_id,
    )
    return {"location": location, "name": manifest.name, "chunks": manifest.chunk_count}, EXIT_OK


def main() -> int:
    return run_job("backup", _backup)


if __name__ == "__main__":
    sys.exit(main())
