"""Fixtures the Slack integration tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.config import load_settings
from common.confluence.folder_source import FolderPageSource
from tests.support.runs import run_sync
from tests.support.sample_space import IT_SECTION, copy_sample_space


@pytest.fixture(scope="session")
def it_synced_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A KB_HOME with the sample space's IT section synced once; tests copy it into their own KB_HOME."""
    root = tmp_path_factory.mktemp("slack-it-section")
    home = root / "kb-home"
    run_sync(
        load_settings(kb_home=home), source=FolderPageSource(copy_sample_space(root / "it", only=IT_SECTION))
    )
    return home
