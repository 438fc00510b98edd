"""Files written once under a name never used before, read as copies, and removed when merged into another.

For data that grows by adding files rather than by changing one (the analytics parts): a writer never reads
what is there, so its cost does not grow with it. Creating is generation-checked (a GCS upload with
`ifGenerationMatch=0`, or a hard link, which fails when the name exists), so a name holds one content for
ever: two writers of the same name cannot both succeed, and removing a name removes exactly what a reader of
it read. On one machine a folder, in the cloud a bucket prefix.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Protocol

from common.errors import BlobConflict, BlobMissing
from common.infra.blob_store import GcsBlobStore


class WriteOnceFiles(Protocol):
    def create(self, name: str, source: Path) -> None:
        """Store `source` as `name`; `BlobConflict` when `name` exists already (nothing is replaced)."""
        ...

    def copy(self, name: str, directory: Path) -> Path | None:
        """A copy of `name` in `directory`, or None when it does not exist (any more)."""
        ...

    def names(self) -> list[str]: ...

    def remove(self, name: str) -> None:
        """Gone afterwards, whether or not it was there."""
        ...


class FolderWriteOnceFiles:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def create(self, name: str, source: Path) -> None:
        """Copied beside the target under a hidden name first, so no reader ever sees half a file."""
        self._directory.mkdir(parents=True, exist_ok=True)
        temporary = self._directory / f".{name}.{uuid.uuid4().hex}.tmp"
        shutil.copyfile(source, temporary)
        try:
            os.link(temporary, self._directory / name)
        except FileExistsError:
            raise BlobConflict(f"{self._directory / name} exists already; a new name was expected.") from None
        finally:
            temporary.unlink()

    def copy(self, name: str, directory: Path) -> Path | None:
        directory.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(self._directory / name, directory / name)
        except FileNotFoundError:
            return None
        return directory / name

    def names(self) -> list[str]:
        if not self._directory.is_dir():
            return []
        return sorted(p.name for p in self._directory.iterdir() if p.is_file() and not p.name.startswith("."))

    def remove(self, name: str) -> None:
        (self._directory / name).unlink(missing_ok=True)


class BucketWriteOnceFiles:
    def __init__(self, blobs: GcsBlobStore, *, prefix: str) -> None:
        self._blobs = blobs
        self._prefix = prefix

    def create(self, name: str, source: Path) -> None:
        self._blobs.upload(self._prefix + name, source, replaces=None)

    def copy(self, name: str, directory: Path) -> Path | None:
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / name
        try:
            found = self._blobs.download(self._prefix + name, target)
        except BlobMissing:  # removed between looking up its generation and reading it
            target.unlink(missing_ok=True)
            return None
        return target if found is not None else None

    def names(self) -> list[str]:
        return [blob.removeprefix(self._prefix) for blob in self._blobs.names(self._prefix)]

    def remove(self, name: str) -> None:
        self._blobs.delete(self._prefix + name)
