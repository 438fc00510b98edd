"""The monthly DuckDB analytics files: in a GCS bucket in the cloud, in a folder under KB_HOME on one machine.

DuckDB cannot write to GCS, so in the cloud a file is edited as: download (noting its generation), change it
locally, upload only if the generation is still the one downloaded. Two ingest runs editing the same month
therefore never overwrite each other: the loser gets `BlobConflict` and starts again from the winner's file.
On one machine the same edit happens in place under a file lock.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from common.analytics.store import file_name
from common.infra.background import machine_lock
from common.infra.blob_store import GcsBlobStore

PREFIX = "analytics/"


class PeriodFiles(Protocol):
    def edit(self, period: str) -> AbstractContextManager[Path]:
        """A local path to the month's file, saved back when the block exits without an error."""
        ...

    def local_copies(self, directory: Path) -> list[Path]:
        """Readable copies of every month's file (in place on one machine)."""
        ...


class FolderPeriodFiles:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    @contextmanager
    def edit(self, period: str) -> Iterator[Path]:
        self._directory.mkdir(parents=True, exist_ok=True)
        with machine_lock(self._directory / f".{period}.lock"):
            yield self._directory / file_name(period)

    def local_copies(self, directory: Path) -> list[Path]:
        return sorted(self._directory.glob("*.duckdb")) if self._directory.is_dir() else []


class BucketPeriodFiles:
    def __init__(self, blobs: GcsBlobStore) -> None:
        self._blobs = blobs

    @contextmanager
    def edit(self, period: str) -> Iterator[Path]:
        """Yield a local copy to change; on a clean exit upload it over exactly the generation downloaded."""
        name = PREFIX + file_name(period)
        with tempfile.TemporaryDirectory(prefix="kb-analytics-") as scratch:
            local = Path(scratch) / file_name(period)
            version = self._blobs.download(name, local)
            yield local
            self._blobs.upload(name, local, replaces=version.generation if version else None)

    def local_copies(self, directory: Path) -> list[Path]:
        """Download every month's file into `directory` for reading (queries, reports)."""
        directory.mkdir(parents=True, exist_ok=True)
        copies = []
        for name in self._blobs.names(PREFIX):
            target = directory / Path(name).name
            self._blobs.download(name, target)
            copies.append(target)
        return copies
