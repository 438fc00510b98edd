"""What every Cloud Run job does around its work: settings, JSON logs with the job's name, typed errors
turned into the exit statuses of `common.errors` (75 tells Cloud Run a retry can help)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from common.config import Settings, get_settings
from common.errors import KbError, exit_code_for
from common.logs import bind_context, configure_logging, get_logger


def run_job(name: str, work: Callable[[Settings], tuple[Mapping[str, object], int]]) -> int:
    """`work` returns its summary (logged as one line) and the exit status it earned."""
    log = get_logger(f"jobs.{name}")
    configure_logging()
    try:
        settings = get_settings()
        configure_logging(log_format=settings.log_format, level=settings.log_level)
        bind_context(job=name)
        summary, status = work(settings)
    except KbError as exc:
        log.error(f"{name}_failed", error=str(exc), error_type=type(exc).__name__)
        return exit_code_for(exc)
    log.info(f"{name}_finished", **summary)
    return status
