"""Cloud Run job, daily: ask yesterday's (or EVAL_DAY's) answered questions again, judge the new answers
(groundedness, relevance, completeness), run the golden questions when GOLDEN_QUESTIONS is set, publish the
scores and an evaluation report, and tell KNOWLEDGE_ADMIN_CHANNEL when a metric is under its target or fell
week on week.

Idempotent per day: the sample is fixed by the day, its events carry ids derived from it, and the alert is
claimed per day, so a retried or doubled run posts nothing twice. Exits 1 when some questions could not be
judged (each is logged), 75 when a service it needs was unavailable.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from common.config import Settings
from common.errors import EXIT_ERRORS, EXIT_OK
from common.runtime.jobs import run_job
from common.runtime.nightly import run_nightly_evaluation
from common.runtime.store import build_store


def _evaluate(settings: Settings) -> tuple[dict[str, object], int]:
    summary = run_nightly_evaluation(settings, build_store(settings), now=datetime.now(UTC))
    return summary.as_dict(), EXIT_ERRORS if summary.failed else EXIT_OK


def main() -> int:
    return run_job("nightly_eval", _evaluate)


if __name__ == "__main__":
    sys.exit(main())
