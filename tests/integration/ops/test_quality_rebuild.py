"""A store lost and re-synced gets its learning back from the analytics events (`kb rebuild-quality`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from common.cli.main import main
from common.config import get_settings
from common.quality.feedback import FeedbackService
from common.runtime.publishing import build_publisher
from common.runtime.quality import build_feedback
from common.runtime.store import build_store
from common.store.chunk_store import ChunkStore
from tests.support.sample_space import IT_SECTION, copy_sample_space
from tests.support.votes import vote


def _invoke(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    loaded: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def _scores(store: ChunkStore, ids: list[str]) -> dict[str, tuple[float, float, int]]:
    return {
        cid: (m.quality_score, m.feedback_score, m.feedback_count)
        for cid, m in store.get_metadata(ids=ids).items()
    }


def _synced(space: Path, chunks: int) -> tuple[ChunkStore, FeedbackService, list[str]]:
    """`kb sync` of the space; the store, a feedback service to vote with, `chunks` ids of the VPN page."""
    _invoke("sync", "--from-dir", str(space))
    settings = get_settings()
    store = build_store(settings)
    feedback = build_feedback(settings, store, publisher=build_publisher(settings))
    return store, feedback, sorted(store.get_metadata(where={"page_id": "1101"}))[:chunks]


def test_a_wiped_and_resynced_store_gets_the_same_scores_back(
    kb_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    space = copy_sample_space(tmp_path / "it", only=IT_SECTION)
    store, feedback, voted = _synced(space, 4)
    for n, chunk_id in enumerate(voted):
        kind = ("helpful", "incorrect", "outdated", "not_helpful")[n]
        feedback.submit([vote(chunk_id, page_id="1101", user=f"U{u}", kind=kind) for u in range(n + 1)])
    before = _scores(store, voted)
    _invoke("analytics", "ingest")

    fresh = tmp_path / "fresh-home"  # the Chroma disk is lost; the analytics files in the bucket are not
    shutil.copytree(kb_home / "analytics", fresh / "analytics")
    monkeypatch.setenv("KB_HOME", str(fresh))
    get_settings.cache_clear()
    _invoke("sync", "--from-dir", str(space))
    rebuilt = _invoke("rebuild-quality")

    assert rebuilt["votes_restored"] == 10
    assert _scores(build_store(get_settings()), voted) == before


def test_rebuilding_a_healthy_store_changes_nothing(kb_home: Path, tmp_path: Path) -> None:
    store, feedback, [chunk_id] = _synced(copy_sample_space(tmp_path / "it", only=IT_SECTION), 1)
    feedback.submit([vote(chunk_id, page_id="1101")])
    _invoke("analytics", "ingest")
    before = _scores(store, [chunk_id])

    rebuilt = _invoke("rebuild-quality")

    assert rebuilt["votes_restored"] == 0
    assert _scores(store, [chunk_id]) == before


def test_a_restore_followed_by_a_sync_keeps_the_restored_scores(
    kb_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    space = copy_sample_space(tmp_path / "it", only=IT_SECTION)
    store, feedback, voted = _synced(space, 3)
    feedback.submit([vote(chunk_id, page_id="1101", kind="incorrect") for chunk_id in voted])
    before = _scores(store, voted)
    _invoke("backup", "--to", str(tmp_path / "backups"))

    monkeypatch.setenv("KB_HOME", str(tmp_path / "new-disk"))
    get_settings.cache_clear()
    _invoke("restore", str(tmp_path / "backups"))
    resynced = _invoke("sync", "--from-dir", str(space))

    assert resynced["chunks_embedded"] == 0
    assert _scores(build_store(get_settings()), voted) == before
