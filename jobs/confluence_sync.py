"""Cloud Run job: sync the configured Confluence spaces into Chroma.

A job with several tasks splits the spaces between them by `CLOUD_RUN_TASK_INDEX` / `CLOUD_RUN_TASK_COUNT`,
so a large site syncs in parallel. The summary is logged as one JSON line; the exit status is 0 when the
task's spaces synced cleanly, 1 when some pages failed, 75 when a service was unavailable (retry the job).
"""

from __future__ import annotations

import os
import sys

from common.config import get_settings
from common.errors import KbError, ServiceUnavailable
from common.logs import bind_context, configure_logging, get_logger
from common.runtime import build_source, build_store, build_synchronizer
from common.task_sharding import shard

log = get_logger("jobs.confluence_sync")


def main() -> int:
    settings = get_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    index = int(os.environ.get("CLOUD_RUN_TASK_INDEX", "0"))
    count = int(os.environ.get("CLOUD_RUN_TASK_COUNT", "1"))
    bind_context(job="confluence_sync", task=f"{index}/{count}")
    try:
        source = build_source(settings)
        spaces = shard(source.space_keys(), index=index, count=count)
        synchronizer = build_synchronizer(settings, source=source, store=build_store(settings))
        summary = synchronizer.run(spaces=spaces)
    except ServiceUnavailable as exc:
        log.error("sync_unavailable", error=str(exc))
        return 75
    except KbError as exc:
        log.error("sync_failed", error=str(exc))
        return 1
    log.info("sync_finished", spaces=spaces, **summary.as_dict())
    return 1 if summary.errors else 0


if __name__ == "__main__":
    sys.exit(main())
