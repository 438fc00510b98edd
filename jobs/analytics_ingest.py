"""Cloud Run job: move events from the analytics subscription into the monthly DuckDB files in GCS.

Runs until the subscription is empty (Cloud Scheduler starts it every few minutes). Safe to run twice at once
or to retry after a crash: files are saved generation-checked and events deduplicated by id.
"""

from __future__ import annotations

import sys

from common.exit_codes import EXIT_OK
from common.job_runner import run_job
from common.runtime import run_analytics_ingest


def main() -> int:
    return run_job("analytics_ingest", lambda settings: (run_analytics_ingest(settings).as_dict(), EXIT_OK))


if __name__ == "__main__":
    sys.exit(main())
