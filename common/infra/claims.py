"""Claiming a piece of work once across every process: the first claimant of a key wins.

Slack retries events and Pub/Sub redelivers messages, so the same question can reach several workers. Each
claims the event id before answering; a claim is an object created only if absent (a GCS upload with
`ifGenerationMatch=0`, or a file opened with O_EXCL on one machine), which the storage layer makes atomic.
A worker that fails in a way a retry can fix releases its claim so the redelivery can answer.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from common.errors import BlobConflict
from common.infra.blob_store import GcsBlobStore


class Claims(Protocol):
    def claim(self, key: str) -> bool: ...

    def release(self, key: str) -> None: ...


def _name(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:40]


class FolderClaims:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def claim(self, key: str) -> bool:
        self._directory.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(self._directory / _name(key), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        os.write(descriptor, key.encode())
        os.close(descriptor)
        return True

    def release(self, key: str) -> None:
        (self._directory / _name(key)).unlink(missing_ok=True)


class BucketClaims:
    def __init__(self, blobs: GcsBlobStore, *, prefix: str) -> None:
        self._blobs = blobs
        self._prefix = prefix

    def claim(self, key: str) -> bool:
        with tempfile.NamedTemporaryFile() as marker:
            marker.write(key.encode())
            marker.flush()
            try:
                self._blobs.upload(self._prefix + _name(key), Path(marker.name), replaces=None)
            except BlobConflict:
                return False
        return True

    def release(self, key: str) -> None:
        self._blobs.delete(self._prefix + _name(key))
