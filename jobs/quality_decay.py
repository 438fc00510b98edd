"""Cloud Run job, daily: count votes kept during an outage, then decay the quality of content past its
review interval, tell owners whose pages fell under the alert threshold, and publish a quality snapshot.

Idempotent per day (scores are recomputed from timestamps), so a retried or doubled run changes nothing.
"""

from __future__ import annotations

import sys

from common.config import Settings
from common.errors import EXIT_OK
from common.quality.daily import run_daily_quality
from common.runtime.jobs import run_job
from common.runtime.publishing import build_publisher
from common.runtime.quality import build_feedback
from common.runtime.store import build_store


def _decay(settings: Settings) -> tuple[dict[str, object], int]:
    store = build_store(settings)
    summary = run_daily_quality(
        store=store, feedback=build_feedback(settings, store), publisher=build_publisher(settings)
    )
    return summary.as_dict(), EXIT_OK


def main() -> int:
    return run_job("quality_decay", _decay)


if __name__ == "__main__":
    sys.exit(main())
