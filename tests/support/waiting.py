"""Waiting for something another process does, with a deadline instead of a guessed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_SECONDS = 0.1


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout:.0f} s")
        time.sleep(POLL_SECONDS)
