"""A real `chroma run` server. Tests that kill Chroma mid-operation get their own; the rest share one."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tests.support.local_service import LocalService, free_port

__all__ = ["ChromaServer", "chroma_binary", "free_port"]


def chroma_binary() -> str:
    beside_python = Path(sys.executable).with_name("chroma")
    found = str(beside_python) if beside_python.exists() else shutil.which("chroma")
    if not found:
        raise RuntimeError("The `chroma` CLI is not installed; run `make install` (it comes with chromadb).")
    return found


class ChromaServer(LocalService):
    name = "chroma"
    health_path = "/api/v2/heartbeat"

    def command(self) -> list[str]:
        return [
            chroma_binary(),
            "run",
            "--path",
            str(self.data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
