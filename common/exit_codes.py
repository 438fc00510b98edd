"""Exit statuses shared by the CLI and the Cloud Run jobs, so schedulers and people read them one way.

0 success; 1 finished with errors (details were logged); 2 bad usage or settings; 75 (EX_TEMPFAIL) a
service was unavailable: run it again later. Cloud Run retries a job task that exits non-zero.
"""

from __future__ import annotations

from common.errors import ConfigError, KbError, ServiceUnavailable

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 75


def exit_code_for(exc: KbError) -> int:
    if isinstance(exc, ConfigError):
        return EXIT_CONFIG
    if isinstance(exc, ServiceUnavailable):
        return EXIT_UNAVAILABLE
    return EXIT_ERRORS
