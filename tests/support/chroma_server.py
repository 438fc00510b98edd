"""A real `chroma run` server for tests, started and stopped like any other process.

Tests that need to kill Chroma mid-operation get their own server; the rest share one per session.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

STARTUP_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chroma_binary() -> str:
    beside_python = Path(sys.executable).with_name("chroma")
    found = str(beside_python) if beside_python.exists() else shutil.which("chroma")
    if not found:
        raise RuntimeError("The `chroma` CLI is not installed; run `make install` (it comes with chromadb).")
    return found


class ChromaServer:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._log = data_dir.parent / f"chroma-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ChromaServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._log.open("ab") as log_file:
            self._process = subprocess.Popen(
                [
                    chroma_binary(),
                    "run",
                    "--path",
                    str(self.data_dir),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_up()
        return self

    def stop(self) -> None:
        """Kill the server outright (SIGKILL), as a crash or a lost VM would."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=30)
        self._process = None

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self._process.returncode}; see {self._log}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(
            f"chroma run did not answer within {STARTUP_TIMEOUT_SECONDS:.0f} s; see {self._log}"
        )
