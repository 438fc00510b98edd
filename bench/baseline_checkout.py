"""Another revision of this repository checked out beside it, for benches that compare against a baseline in
the same run (served through `FunctionService(checkout=...)`)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def baseline_checkout(revision: str, directory: Path) -> Iterator[Path]:
    """A detached git worktree of `revision` at `directory`, removed again afterwards."""
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(directory), revision],
        check=True,
        capture_output=True,
    )
    try:
        yield directory
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(directory)], check=False)
