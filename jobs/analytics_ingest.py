"""Cloud Run job: move events from the analytics subscription into the months' DuckDB part files in GCS, then
merge the months' parts when they have gathered too many.

Runs until the subscription is empty (Cloud Scheduler starts it every few minutes). Safe to run twice at once
or to retry after a crash: parts are written once under new names, merges are stored before what they merged
is removed, and readers count each event id once.
"""

from __future__ import annotations

import sys

from common.config import Settings
from common.errors import EXIT_OK
from common.runtime.events import ingest_waiting_events
from common.runtime.jobs import run_job


def _ingest(settings: Settings) -> tuple[dict[str, object], int]:
    return ingest_waiting_events(settings).as_dict(), EXIT_OK


def main() -> int:
    return run_job("analytics_ingest", _ingest)


if __name__ == "__main__":
    sys.exit(main())
