"""What every Cloud Run job does around its work: settings, JSON logs with the job's name, typed errors
turned into the exit statuses of `common.errors` (75 tells Cloud Run a retry can help)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from common.config import Settings, get_settings
from common.errors import KbError, exit_code_for
from common.logs import configure_logging, get_logger, log_context


def run_job(name: str, work: Callable[[Settings], tuple[Mapping[str, object], int]]) -> int:
    """`work` returns its summary (logged as one line) and the exit status it earned. Every line logged
    during the job carries `job` and its `task` (index/count), and none logged after it does."""
    log = get_logger(f"jobs.{name}")
    configure_logging()
    with log_context(job=name):
        try:
            settings = get_settings()
            configure_logging(log_format=settings.log_format, level=settings.log_level)
            with log_context(task=f"{settings.cloud_run_task_index}/{settings.cloud_run_task_count}"):
                summary, status = work(settings)
                log.info(f"{name}_finished", **summary)
                return status
        except KbError as exc:
            log.error(f"{name}_failed", error=str(exc), error_type=type(exc).__name__)
            return exit_code_for(exc)
