"""Cloud Run job: move events from the analytics subscription into the monthly DuckDB files in GCS.

Runs until the subscription is empty (Cloud Scheduler starts it every few minutes). Safe to run twice at once
or to retry after a crash: files are saved generation-checked and events deduplicated by id.
"""

from __future__ import annotations

import sys

from common.analytics.ingest import ingest
from common.config import Settings
from common.errors import EXIT_OK
from common.runtime.events import build_event_source, build_period_files
from common.runtime.jobs import run_job


def _ingest(settings: Settings) -> tuple[dict[str, object], int]:
    return ingest(build_event_source(settings), build_period_files(settings)).as_dict(), EXIT_OK


def main() -> int:
    return run_job("analytics_ingest", _ingest)


if __name__ == "__main__":
    sys.exit(main())
