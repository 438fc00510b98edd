"""The monthly DuckDB analytics files, kept as versioned files (`common.infra.versioned_files`): in a GCS
bucket in the cloud, in a folder under KB_HOME on one machine. Two ingest runs editing the same month never
overwrite each other: the loser gets `BlobConflict` and starts again from the winner's file."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from common.analytics.store import file_name
from common.infra.versioned_files import VersionedFiles

PREFIX = "analytics/"


class PeriodFiles:
    def __init__(self, files: VersionedFiles) -> None:
        self._files = files

    def edit(self, period: str) -> AbstractContextManager[Path]:
        """A local path to the month's file, saved back when the block exits without an error."""
        return self._files.edit(file_name(period))

    def local_copies(self, directory: Path) -> list[Path]:
        """Copies of every month's file in `directory`, for queries and reports to read."""
        copies = [
            self._files.copy(name, directory) for name in self._files.names() if name.endswith(".duckdb")
        ]
        return [copy for copy in copies if copy is not None]
