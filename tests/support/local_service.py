"""Real local services for tests (Chroma, the GCS and Pub/Sub emulators), started like any other process.

Each is a subprocess on a free loopback port with its output in a log file beside its data, that counts as up
when its health URL answers 200, and that `stop()` kills outright (SIGKILL), as a crash or a lost VM would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Self

import httpx

STARTUP_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalService:
    name = "service"
    health_path = "/"

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._log = data_dir.parent / f"{self.name}-{self.port}.log"

    @property
    def log_path(self) -> Path:
        return self._log

    @property
    def pid(self) -> int:
        """The started process, leader of its own process group (which holds its children)."""
        if self._process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def is_up(self, response: httpx.Response) -> bool:
        return response.status_code == 200

    def environment(self) -> dict[str, str] | None:
        """The child's environment; None inherits the test process's."""
        return None

    def start(self) -> Self:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._log.open("ab") as log_file:
            # A session of its own, so stop() reaches the children too (gunicorn's workers, for one).
            self._process = subprocess.Popen(
                self.command(),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=self.environment(),
                start_new_session=True,
            )
        self._wait_until_up()
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=30)
        self._process = None

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self._process.returncode}; see {self._log}")
            try:
                if self.is_up(httpx.get(f"{self.url}{self.health_path}", timeout=1.0)):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} did not answer within {STARTUP_TIMEOUT_SECONDS:.0f} s; see {self._log}"
        )
