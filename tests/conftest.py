"""Shared fixtures: every test gets its own KB_HOME; one real Chroma server serves the whole session."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.config import get_settings
from common.runtime.publishing import close_publishers
from tests.support.chroma_server import ChromaServer
from tests.support.gcs_server import GcsServer
from tests.support.pubsub_emulator import BINARY as PUBSUB_EMULATOR_BINARY
from tests.support.pubsub_emulator import PubSubEmulator


@pytest.fixture(autouse=True)
def kb_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point KB_HOME at a fresh folder and forget any settings read by an earlier test."""
    home = tmp_path / "kb-home"
    monkeypatch.setenv("KB_HOME", str(home))
    for name in (
        "CHROMA_URL",
        "CONFLUENCE_URL",
        "CONFLUENCE_SPACES",
        "LLM_API_URL",
        "GCS_BUCKET",
        "GCS_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield home
    close_publishers()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsServer]:
    server = GcsServer(tmp_path_factory.mktemp("gcs-server") / "data").start()
    yield server
    server.stop()


@pytest.fixture
def gcs_bucket(gcs_server: GcsServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the emulator, with GCS_BUCKET and GCS_ENDPOINT pointing at it."""
    name = gcs_server.create_bucket(f"kb-{uuid.uuid4().hex[:12]}")
    monkeypatch.setenv("GCS_BUCKET", name)
    monkeypatch.setenv("GCS_ENDPOINT", gcs_server.url)
    get_settings.cache_clear()
    return name


@pytest.fixture(scope="session")
def pubsub_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PubSubEmulator]:
    if not Path(PUBSUB_EMULATOR_BINARY).exists() or shutil.which("java") is None:
        pytest.skip(
            f"SKIPPED LOUDLY: Google's Pub/Sub emulator ({PUBSUB_EMULATOR_BINARY}) or Java 17 is "
            "missing on this machine, so the Pub/Sub tests cannot run here; install google-cloud-cli's "
            "pubsub-emulator component and a Java 17 runtime."
        )
    emulator = PubSubEmulator(tmp_path_factory.mktemp("pubsub-emulator") / "data").start()
    yield emulator
    emulator.stop()
