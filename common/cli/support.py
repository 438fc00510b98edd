"""What every `kb` command shares: the consoles, settings with logging, and typed errors as exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

import click
from rich.console import Console
from rich.text import Text

from common.config import Settings, get_settings
from common.errors import EXIT_CONFIG, EXIT_UNAVAILABLE, KbError, exit_code_for
from common.logs import configure_logging, is_interactive
from common.permissions.access import EVERYONE_ACCESS, Access, conversation_of
from common.runtime.permissions import build_access_resolver

P = ParamSpec("P")
R = TypeVar("R")

err = Console(stderr=True, soft_wrap=True)
"""Soft wrap: its messages name paths, ids and URLs that people copy, which must not be cut at 80 columns."""
out = Console()


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the product's typed errors into a one-line message and an exit status, never a traceback."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except KbError as exc:
            code = exit_code_for(exc)
            label = {EXIT_CONFIG: "Configuration problem", EXIT_UNAVAILABLE: "Unavailable"}.get(code, "Error")
            # Text, not markup: a message may hold brackets.
            err.print(Text.assemble((f"{label}:", "red"), " ", str(exc)))
            sys.exit(code)

    return run


def person_watching() -> bool:
    """Whether a person watches this command: stdout and stderr on a terminal, and not Cloud Run (whose
    jobs may get a pseudo-terminal). Progress bars are for them; CI and jobs get plain lines and JSON logs."""
    return is_interactive() and sys.stdout.isatty()


def access_for(settings: Settings, as_email: str | None, conversation: str) -> Access:
    """`--as EMAIL`: answer as that person would be answered in `conversation`; without it, as anyone."""
    if as_email is None:
        return EVERYONE_ACCESS
    return build_access_resolver(settings).for_email(as_email, conversation_of(conversation))


@dataclass(frozen=True, slots=True)
class LogOptions:
    """`kb -v` and `kb --log-file PATH`, for the command that runs."""

    verbose: bool = False
    file: Path | None = None


def settings_with_logging() -> Settings:
    """On a terminal, info logs would interleave with progress bars and answers: they show only with `-v`
    (or an explicit LOG_LEVEL), or go to `--log-file`. Elsewhere (Cloud Run, pipes) nothing changes."""
    settings = get_settings()
    context = click.get_current_context(silent=True)
    options = context.find_object(LogOptions) if context is not None else None
    options = options or LogOptions()
    if options.file is not None:
        handle = options.file.open("a", encoding="utf-8")
        configure_logging(log_format="json", level=settings.log_level, file=handle)
        return settings
    level = settings.log_level
    quiet = is_interactive() and not options.verbose and "log_level" not in settings.model_fields_set
    if quiet and level in ("DEBUG", "INFO"):
        level = "WARNING"
    configure_logging(log_format=settings.log_format, level=level)
    return settings
