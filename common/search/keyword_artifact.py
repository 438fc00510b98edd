"""Where the saved keyword index lives: a folder under KB_HOME, or one file in GCS in the cloud.

Cloud Run instances have no shared disk, so in the cloud the index is one tar file in the bucket: the sync job
uploads it after a sync, and every search instance downloads it at start and again whenever its generation
moves, instead of each instance rebuilding the index from Chroma. A write replaces only the generation its
writer last loaded (or, for a writer that never loaded one, the one current when it writes), so of two
rebuilders racing one wins whole and the other keeps its own, equally fresh, index in memory until its next
refresh.
"""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path
from typing import Protocol

from common.errors import BlobConflict, KeywordIndexError
from common.infra.blob_store import GcsBlobStore
from common.logs import get_logger
from common.search.keyword_index import MANIFEST, KeywordIndex

log = get_logger(__name__)


class KeywordArtifact(Protocol):
    def load(self) -> KeywordIndex:
        """The saved index; `KeywordIndexError` when there is none or it is unreadable."""
        ...

    def save(self, index: KeywordIndex) -> None: ...

    def exists(self) -> bool: ...

    def changed_since_load(self) -> bool:
        """Whether another process saved a newer artifact than the one this object last loaded or saved."""
        ...


class FolderArtifact:
    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._seen: int | None = None

    def load(self) -> KeywordIndex:
        index = KeywordIndex.load(self._directory)
        self._seen = self._version()
        return index

    def save(self, index: KeywordIndex) -> None:
        index.save(self._directory)
        self._seen = self._version()

    def exists(self) -> bool:
        return self._version() is not None

    def changed_since_load(self) -> bool:
        return self._version() != self._seen

    def _version(self) -> int | None:
        try:
            return (self._directory / MANIFEST).stat().st_mtime_ns
        except FileNotFoundError:
            return None


class BucketArtifact:
    def __init__(self, *, blobs: GcsBlobStore, name: str) -> None:
        self._blobs = blobs
        self._name = name
        self._generation: int | None = None

    def load(self) -> KeywordIndex:
        with tempfile.TemporaryDirectory(prefix="kb-keyword-") as scratch:
            archive = Path(scratch) / "index.tar"
            version = self._blobs.download(self._name, archive)
            if version is None:
                raise KeywordIndexError(f"No keyword index at {self._name!r} in the bucket yet.")
            unpacked = Path(scratch) / "index"
            try:
                with tarfile.open(archive) as tar:
                    tar.extractall(unpacked, filter="data")
            except tarfile.TarError as exc:
                raise KeywordIndexError(f"The keyword index {self._name!r} is damaged: {exc}.") from exc
            index = KeywordIndex.load(unpacked)
        self._generation = version.generation
        return index

    def save(self, index: KeywordIndex) -> None:
        with tempfile.TemporaryDirectory(prefix="kb-keyword-") as scratch:
            folder = Path(scratch) / "index"
            index.save(folder)
            archive = Path(scratch) / "index.tar"
            with tarfile.open(archive, "w") as tar:
                for path in sorted(folder.iterdir()):
                    tar.add(path, arcname=path.name)
            replaces = (
                self._generation if self._generation is not None else self._blobs.generation(self._name)
            )
            try:
                self._generation = self._blobs.upload(self._name, archive, replaces=replaces).generation
            except BlobConflict:
                log.info("keyword_index_upload_lost_race", artifact=self._name)
                self._generation = None

    def exists(self) -> bool:
        return self._blobs.generation(self._name) is not None

    def changed_since_load(self) -> bool:
        return self._blobs.generation(self._name) != self._generation
