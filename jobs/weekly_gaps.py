"""Cloud Run job, weekly: group the last seven days' badly answered questions into gap topics and send the
digest (one DM per owner of a topic's nearest space, one message to KNOWLEDGE_ADMIN_CHANNEL).

Claimed per ISO week, so a retried or doubled run sends nothing twice. Exits 75 (retryable) while a message
Slack refused is still unsent; the retry sends only those.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from common.config import Settings
from common.errors import EXIT_OK, EXIT_UNAVAILABLE
from common.runtime.gaps import run_weekly_gaps
from common.runtime.jobs import run_job
from common.runtime.store import build_store


def _gaps(settings: Settings) -> tuple[dict[str, object], int]:
    summary = run_weekly_gaps(settings, build_store(settings), now=datetime.now(UTC))
    return summary.as_dict(), EXIT_OK if summary.complete else EXIT_UNAVAILABLE


def main() -> int:
    return run_job("weekly_gaps", _gaps)


if __name__ == "__main__":
    sys.exit(main())
