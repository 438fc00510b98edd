"""Structured logging: JSON lines that Cloud Logging parses on Cloud Run, readable lines on a terminal.

Every log call passes its ids (page, chunk, request, event) as keyword fields; `log_context` adds ids to
every line logged inside a request, an event or a job, through structlog's context variables, and takes
them away when it ends, so a line written after a job never carries that job's fields.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO, cast

import structlog
from structlog.typing import EventDict, WrappedLogger


def configure_logging(*, log_format: str = "auto", level: str = "INFO", file: TextIO | None = None) -> None:
    """Set up structlog once per process. `auto` means JSON unless stderr is an interactive terminal; a
    `file` always gets JSON lines."""
    use_json = file is not None or log_format == "json" or (log_format == "auto" and not _interactive())
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            *([_cloud_logging_severity] if use_json else []),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        logger_factory=structlog.PrintLoggerFactory(file=file or cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=False,
    )


class _CurrentStderr:
    """Whatever `sys.stderr` is when a line is written, not when logging was set up: a tool that swaps the
    stream (click's test runner, a pager) and closes it must not leave logging writing to a closed file."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(logger_name=name)
    return logger


@contextmanager
def log_context(**ids: str) -> Iterator[None]:
    """Ids for every line logged inside the block (in this thread or task); the previous ones come back
    after it."""
    with structlog.contextvars.bound_contextvars(**ids):
        yield


def is_interactive() -> bool:
    """A person at a terminal (and not a Cloud Run service or job, which may have a pseudo-terminal)."""
    return _interactive()


def _interactive() -> bool:
    on_cloud_run = bool(os.environ.get("K_SERVICE") or os.environ.get("CLOUD_RUN_JOB"))
    return sys.stderr.isatty() and not on_cloud_run


def _cloud_logging_severity(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Cloud Logging reads `severity` and `message`; keep structlog's names out of its way."""
    event_dict["severity"] = str(event_dict.pop("level", "info")).upper()
    event_dict["message"] = event_dict.pop("event", "")
    return event_dict
