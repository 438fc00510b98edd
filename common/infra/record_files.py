"""Small named records kept in a folder on one machine or under a bucket prefix in the cloud.

For state that must outlive the process that wrote it but is keyed by a unique name, so writers never race
on one record: votes and reviews waiting for Chroma to come back. On Cloud Run the bucket is the only choice,
because an instance's disk dies with it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Protocol

from common.infra.blob_store import GcsBlobStore


class RecordFiles(Protocol):
    def write(self, name: str, data: bytes) -> None: ...

    def read(self, name: str) -> bytes | None:
        """The record, or None when it is gone (another replayer took it)."""
        ...

    def names(self) -> list[str]: ...

    def remove(self, name: str) -> None: ...


class FolderRecordFiles:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def write(self, name: str, data: bytes) -> None:
        """Atomic, and safe with writers of the same name at once (each has its own temporary file; the
        last to finish wins), as a bucket object is."""
        self._directory.mkdir(parents=True, exist_ok=True)
        temporary = self._directory / f".{name}.{uuid.uuid4().hex}.tmp"
        temporary.write_bytes(data)
        temporary.replace(self._directory / name)

    def read(self, name: str) -> bytes | None:
        try:
            return (self._directory / name).read_bytes()
        except FileNotFoundError:
            return None

    def names(self) -> list[str]:
        if not self._directory.is_dir():
            return []
        return sorted(p.name for p in self._directory.iterdir() if not p.name.startswith("."))

    def remove(self, name: str) -> None:
        (self._directory / name).unlink(missing_ok=True)


class BucketRecordFiles:
    def __init__(self, blobs: GcsBlobStore, *, prefix: str) -> None:
        self._blobs = blobs
        self._prefix = prefix

    def write(self, name: str, data: bytes) -> None:
        self._blobs.put_bytes(self._prefix + name, data)

    def read(self, name: str) -> bytes | None:
        return self._blobs.get_bytes(self._prefix + name)

    def names(self) -> list[str]:
        return [name.removeprefix(self._prefix) for name in self._blobs.names(self._prefix)]

    def remove(self, name: str) -> None:
        self._blobs.delete(self._prefix + name)
