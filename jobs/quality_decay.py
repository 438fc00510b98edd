"""Cloud Run job, daily: count votes kept during an outage, then decay the quality of content past its
review interval, tell owners whose pages fell under the alert threshold, and publish a quality snapshot.

Idempotent per day (scores are recomputed from timestamps), so a retried or doubled run changes nothing.
"""

from __future__ import annotations

import sys

from common.exit_codes import EXIT_OK
from common.job_runner import run_job
from common.runtime import run_quality_decay


def main() -> int:
    return run_job("quality_decay", lambda settings: (run_quality_decay(settings).as_dict(), EXIT_OK))


if __name__ == "__main__":
    sys.exit(main())
