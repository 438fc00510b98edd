"""Whole files that several writers change, each change made over exactly the version it read.

For small state that is one file (a DuckDB database): on one machine a folder, each change under a lock every
process of the machine respects; in the cloud a bucket prefix, each change downloaded, made locally and
uploaded only if the object's generation is still the one downloaded (DuckDB cannot write to GCS itself).
Of two writers racing, the second gets `BlobConflict` and must start again from the winner's file.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from common.infra.background import machine_lock
from common.infra.blob_store import GcsBlobStore


class VersionedFiles(Protocol):
    def edit(self, name: str) -> AbstractContextManager[Path]:
        """A local path to the file (absent if it does not exist yet), saved back when the block exits
        without an error; `BlobConflict` when another writer saved it first."""
        ...

    def copy(self, name: str, directory: Path) -> Path | None:
        """A copy of the file in `directory` to read, or None when there is none. A copy, never the file
        itself: DuckDB lets one process at a time open a database file, so a reader holding the original
        would make every writer of the machine fail while it reads."""
        ...

    def names(self) -> list[str]: ...


class FolderFiles:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    @contextmanager
    def edit(self, name: str) -> Iterator[Path]:
        self._directory.mkdir(parents=True, exist_ok=True)
        with machine_lock(self._directory / f".{name}.lock"):
            yield self._directory / name

    def copy(self, name: str, directory: Path) -> Path | None:
        path = self._directory / name
        directory.mkdir(parents=True, exist_ok=True)
        with machine_lock(self._directory / f".{name}.lock"):
            if not path.exists():
                return None
            shutil.copyfile(path, directory / name)
        return directory / name

    def names(self) -> list[str]:
        if not self._directory.is_dir():
            return []
        return sorted(p.name for p in self._directory.iterdir() if p.is_file() and not p.name.startswith("."))


class BucketFiles:
    def __init__(self, blobs: GcsBlobStore, *, prefix: str) -> None:
        self._blobs = blobs
        self._prefix = prefix

    @contextmanager
    def edit(self, name: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="kb-versioned-") as scratch:
            local = Path(scratch) / name
            version = self._blobs.download(self._prefix + name, local)
            yield local
            self._blobs.upload(self._prefix + name, local, replaces=version.generation if version else None)

    def copy(self, name: str, directory: Path) -> Path | None:
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / name
        return target if self._blobs.download(self._prefix + name, target) is not None else None

    def names(self) -> list[str]:
        return [blob.removeprefix(self._prefix) for blob in self._blobs.names(self._prefix)]
