"""Cloud Run job, daily: count votes kept during an outage, then decay the quality of content past its
review interval and tell owners whose pages fell under the alert threshold.

Idempotent per day (scores are recomputed from timestamps), so a retried or doubled run changes nothing.
The exit status follows `common.exit_codes`.
"""

from __future__ import annotations

import sys

from common.config import get_settings
from common.errors import KbError
from common.exit_codes import EXIT_OK, exit_code_for
from common.logs import bind_context, configure_logging, get_logger
from common.runtime import run_quality_decay

log = get_logger("jobs.quality_decay")


def main() -> int:
    configure_logging()
    try:
        settings = get_settings()
        configure_logging(log_format=settings.log_format, level=settings.log_level)
        bind_context(job="quality_decay")
        summary = run_quality_decay(settings)
    except KbError as exc:
        log.error("decay_failed", error=str(exc), error_type=type(exc).__name__)
        return exit_code_for(exc)
    log.info("decay_finished", **summary.as_dict())
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
