"""Shared fixtures: every test gets its own KB_HOME; one real Chroma server serves the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from common.config import get_settings
from tests.support.chroma_server import ChromaServer


@pytest.fixture(autouse=True)
def kb_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point KB_HOME at a fresh folder and forget any settings read by an earlier test."""
    home = tmp_path / "kb-home"
    monkeypatch.setenv("KB_HOME", str(home))
    for name in ("CHROMA_URL", "CONFLUENCE_URL", "CONFLUENCE_SPACES", "LLM_API_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data").start()
    yield server
    server.stop()
