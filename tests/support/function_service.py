"""A function target of `functions/main.py` served by functions-framework in its own process, as Cloud Run
runs it: its settings come only from the environment it is started with."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx

from common.config import Settings
from tests.support.local_service import LocalService
from tests.support.paths import REPO_ROOT

MAIN = REPO_ROOT / "functions" / "main.py"

# Settings a developer's shell may hold that must not leak into a process under test.
_PRODUCT_VARIABLES = frozenset(name.upper() for name in Settings.model_fields)


class FunctionService(LocalService):
    def __init__(
        self, target: str, env: Mapping[str, str], *, log_dir: Path, checkout: Path | None = None
    ) -> None:
        """`checkout`: serve another checkout of the repository (a benchmark's baseline revision)."""
        self.name = f"function-{target}"
        super().__init__(log_dir / self.name)
        self.target = target
        self._checkout = checkout
        self._env = dict(env)
        if checkout is not None:
            self._env["PYTHONPATH"] = str(checkout)

    def is_up(self, response: httpx.Response) -> bool:
        """Listening is enough: the Slack targets answer an unsigned GET with 401, and `slack_answer` has no
        GET route; the heavy parts load on the first real request, as on Cloud Run."""
        return True

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "functions_framework",
            "--source",
            str(self._checkout / "functions" / "main.py" if self._checkout else MAIN),
            "--target",
            self.target,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]

    def environment(self) -> dict[str, str]:
        return isolated_environment(self._env)


def isolated_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without the product's settings, plus `settings`: what a Cloud Run service
    or job would see."""
    inherited = {k: v for k, v in os.environ.items() if k not in _PRODUCT_VARIABLES}
    return {**inherited, "LOG_FORMAT": "json", **settings}
