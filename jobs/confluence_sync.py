"""Cloud Run job: sync the configured Confluence spaces into Chroma.

A job with several tasks splits the spaces between them (`CLOUD_RUN_TASK_INDEX` / `CLOUD_RUN_TASK_COUNT`),
so a large site syncs in parallel. The summary is logged as one JSON line; the exit status follows
`common.exit_codes` (75 means a service was down and the task should be retried).
"""

from __future__ import annotations

import sys

from common.config import get_settings
from common.errors import KbError
from common.exit_codes import EXIT_ERRORS, EXIT_OK, exit_code_for
from common.logs import bind_context, configure_logging, get_logger
from common.runtime import build_source, run_sync
from common.task_sharding import shard

log = get_logger("jobs.confluence_sync")


def main() -> int:
    configure_logging()
    try:
        settings = get_settings()
        configure_logging(log_format=settings.log_format, level=settings.log_level)
        bind_context(
            job="confluence_sync", task=f"{settings.cloud_run_task_index}/{settings.cloud_run_task_count}"
        )
        source = build_source(settings)
        spaces = shard(
            source.space_keys(), index=settings.cloud_run_task_index, count=settings.cloud_run_task_count
        )
        summary = run_sync(settings, source=source, spaces=spaces)
    except KbError as exc:
        log.error("sync_failed", error=str(exc), error_type=type(exc).__name__)
        return exit_code_for(exc)
    log.info("sync_finished", spaces=spaces, **summary.as_dict())
    return EXIT_ERRORS if summary.errors else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
