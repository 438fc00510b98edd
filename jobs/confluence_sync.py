"""Cloud Run job: sync the configured Confluence spaces into Chroma.

A job with several tasks splits the spaces between them (`CLOUD_RUN_TASK_INDEX` / `CLOUD_RUN_TASK_COUNT`),
so a large site syncs in parallel. Exit 1 when some pages failed (logged), 75 when a service was down.
"""

from __future__ import annotations

import sys

from common.config import Settings
from common.errors import EXIT_ERRORS, EXIT_OK
from common.infra.sharding import shard
from common.runtime.ingestion import build_synchronizer
from common.runtime.jobs import run_job
from common.runtime.sources import build_source
from common.runtime.store import build_store


def _sync(settings: Settings) -> tuple[dict[str, object], int]:
    source = build_source(settings)
    spaces = shard(
        source.space_keys(), index=settings.cloud_run_task_index, count=settings.cloud_run_task_count
    )
    summary = build_synchronizer(settings, source=source, store=build_store(settings)).run(spaces=spaces)
    return {"spaces": spaces, **summary.as_dict()}, EXIT_ERRORS if summary.errors else EXIT_OK


def main() -> int:
    return run_job("confluence_sync", _sync)


if __name__ == "__main__":
    sys.exit(main())
