"""Paths and tool lookup for the deployment checks (all offline; no cloud, no provider download)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"


def find_tool(name: str) -> str | None:
    """The tool from this virtualenv, then from the tools virtualenv `make install` builds (checkov cannot
    share one with pytest), then from PATH."""
    for local in (Path(sys.executable).parent / name, REPO / ".venv-tools" / "bin" / name):
        if local.exists():
            return str(local)
    return shutil.which(name)


@pytest.fixture
def terraform_dir() -> Path:
    return TERRAFORM_DIR
