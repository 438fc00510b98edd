"""Where backups live: a local folder or a Cloud Storage prefix, behind one small protocol.

A backup is a folder of files named by the time it started (`<location>/<YYYYMMDDTHHMMSSZ>/`) whose
`manifest.json` is written last: a backup without a manifest is unfinished and is never listed or restored.
Neither target ever overwrites an existing backup: a folder is assembled under a hidden name and renamed
into place, and every object is uploaded with "must not exist yet", so a second backup started in the same
second fails instead of mixing its files into the first.

The Parquet parts are written by DuckDB (pyarrow is not a dependency): one file per page of chunks or of a
companion's records,
each row a record exactly as Chroma returned it, metadata as a JSON object string so a field added to the
schema later needs no new column.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import duckdb
import numpy as np
import numpy.typing as npt

from common.errors import BackupError, BlobConflict
from common.infra.blob_store import GcsBlobStore

MANIFEST_FILE = "manifest.json"
NAME_FORMAT = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(r"^\d{8}T\d{6}Z$")


class BackupTarget(Protocol):
    """A place holding many timestamped backups."""

    @property
    def location(self) -> str: ...

    def staging(self, name: str) -> AbstractContextManager[Path]:
        """A local folder to write backup `name` into; discarded if the block fails."""
        ...

    def publish(self, name: str, staged: Path, files: Sequence[str]) -> None:
        """Make the staged files backup `name`, in the given order (the manifest last)."""
        ...

    def names(self) -> list[str]:
        """Finished backups (those with a manifest), oldest first."""
        ...

    def read_manifest(self, name: str) -> bytes: ...

    def open(self, name: str) -> AbstractContextManager[Path]:
        """A local folder holding every file of backup `name`, for as long as the block runs."""
        ...


class FolderBackup:
    def __init__(self, path: Path) -> None:
        self._root = path

    @property
    def location(self) -> str:
        return str(self._root)

    @contextmanager
    def staging(self, name: str) -> Iterator[Path]:
        if (self._root / name).exists():
            raise BackupError(f"A backup named {name} already exists in {self._root}; try again in a second.")
        staged = self._root / f".{name}.partial-{uuid.uuid4().hex[:8]}"
        staged.mkdir(parents=True)
        try:
            yield staged
        finally:
            shutil.rmtree(staged, ignore_errors=True)

    def publish(self, name: str, staged: Path, files: Sequence[str]) -> None:
        final = self._root / name
        if final.exists():
            raise BackupError(f"A backup named {name} already exists in {self._root}; try again in a second.")
        # One rename: readers see either no backup or a whole one, never half of it.
        staged.rename(final)

    def names(self) -> list[str]:
        if not self._root.is_dir():
            return []
        return sorted(
            p.name for p in self._root.iterdir() if _NAME.match(p.name) and (p / MANIFEST_FILE).is_file()
        )

    def read_manifest(self, name: str) -> bytes:
        path = self._root / _checked(name) / MANIFEST_FILE
        if not path.is_file():
            raise BackupError(f"No finished backup {name} in {self._root} (no {MANIFEST_FILE}).")
        return path.read_bytes()

    @contextmanager
    def open(self, name: str) -> Iterator[Path]:
        self.read_manifest(name)
        yield self._root / name


class BucketBackup:
    def __init__(self, blobs: GcsBlobStore, prefix: str, *, bucket: str = "") -> None:
        self._blobs = blobs
        self._prefix = prefix.strip("/")
        self._bucket = bucket

    @property
    def location(self) -> str:
        return f"gs://{self._bucket}/{self._prefix}".rstrip("/")

    def _blob(self, name: str, file: str = "") -> str:
        return "/".join(part for part in (self._prefix, name, file) if part)

    @contextmanager
    def staging(self, name: str) -> Iterator[Path]:
        if self._blobs.names(self._blob(name) + "/"):
            raise BackupError(f"A backup named {name} already exists at {self.location}; try again.")
        with tempfile.TemporaryDirectory(prefix=f"kb-backup-{name}-") as folder:
            yield Path(folder)

    def publish(self, name: str, staged: Path, files: Sequence[str]) -> None:
        for file in files:
            try:
                self._blobs.upload(self._blob(name, file), staged / file, replaces=None)
            except BlobConflict as exc:
                raise BackupError(
                    f"{self.location}/{name}/{file} already exists: another backup started in the same "
                    "second; this one was abandoned, try again."
                ) from exc

    def names(self) -> list[str]:
        found = []
        for blob in self._blobs.names(self._blob("") + "/" if self._prefix else ""):
            parts = blob[len(self._prefix) :].strip("/").split("/") if self._prefix else blob.split("/")
            if len(parts) == 2 and parts[1] == MANIFEST_FILE and _NAME.match(parts[0]):
                found.append(parts[0])
        return sorted(found)

    def read_manifest(self, name: str) -> bytes:
        data = self._blobs.get_bytes(self._blob(_checked(name), MANIFEST_FILE))
        if data is None:
            raise BackupError(f"No finished backup {name} at {self.location} (no {MANIFEST_FILE}).")
        return data

    @contextmanager
    def open(self, name: str) -> Iterator[Path]:
        self.read_manifest(name)
        prefix = self._blob(name) + "/"
        with tempfile.TemporaryDirectory(prefix=f"kb-restore-{name}-") as folder:
            for blob in self._blobs.names(prefix):
                self._blobs.download(blob, Path(folder) / blob[len(prefix) :])
            yield Path(folder)


def backup_target_from(location: str, *, blobs_for: Callable[[str], GcsBlobStore]) -> BackupTarget:
    """`gs://bucket/prefix` is a Cloud Storage prefix (`blobs_for(bucket)` reaches it like every other
    bucket, an emulator included); anything else is a local folder."""
    if location.startswith("gs://"):
        bucket, _, prefix = location.removeprefix("gs://").partition("/")
        if not bucket:
            raise BackupError(f"{location!r} names no bucket; use gs://BUCKET/PREFIX.")
        return BucketBackup(blobs_for(bucket), prefix, bucket=bucket)
    return FolderBackup(Path(location).expanduser())


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise BackupError(f"{name!r} is not a backup name; backups are named like 20260101T120000Z.")
    return name


# --- Parquet parts ---------------------------------------------------------------------------------


def write_chunk_part(
    db: duckdb.DuckDBPyConnection,
    path: Path,
    rows: Sequence[tuple[str, str | None, dict[str, Any], Any]],
    vectors: npt.NDArray[np.float32],
) -> None:
    """Hand DuckDB numpy columns, not Python lists: binding 384 floats per row as objects is ~8x slower."""
    count, dimension = vectors.shape
    db.register(
        "part_rows",
        {
            "row": np.arange(count),
            "id": np.array([r[0] for r in rows], dtype=object),
            "document": np.array([r[1] or "" for r in rows], dtype=object),
            "metadata": np.array([json.dumps(r[2], sort_keys=True) for r in rows], dtype=object),
        },
    )
    db.register(
        "part_values",
        {
            "row": np.repeat(np.arange(count), dimension),
            "pos": np.tile(np.arange(dimension), count),
            "v": vectors.ravel(),
        },
    )
    try:
        db.execute(
            f"COPY (SELECT r.id, r.document, e.embedding, r.metadata FROM part_rows r JOIN "
            f"(SELECT row, list(v ORDER BY pos)::FLOAT[{dimension}] AS embedding FROM part_values "
            f"GROUP BY row) e USING (row) ORDER BY r.row) TO '{sql_path(path)}' (FORMAT PARQUET)"
        )
    finally:
        db.unregister("part_rows")
        db.unregister("part_values")


def write_record_part(
    db: duckdb.DuckDBPyConnection, path: Path, records: Mapping[str, dict[str, Any]]
) -> None:
    """A page of companion records: id and metadata, as Chroma returned them."""
    db.register(
        "record_rows",
        {
            "row": np.arange(len(records)),
            "id": np.array(list(records), dtype=object),
            "metadata": np.array([json.dumps(r, sort_keys=True) for r in records.values()], dtype=object),
        },
    )
    try:
        db.execute(
            f"COPY (SELECT id, metadata FROM record_rows ORDER BY row) TO '{sql_path(path)}' (FORMAT PARQUET)"
        )
    finally:
        db.unregister("record_rows")


def read_part_rows(
    db: duckdb.DuckDBPyConnection, path: Path, columns: str, batch_size: int
) -> Iterator[list[tuple[Any, ...]]]:
    cursor = db.execute(f"SELECT {columns} FROM read_parquet('{sql_path(path)}')")
    while rows := cursor.fetchmany(batch_size):
        yield rows


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sql_path(path: Path) -> str:
    """COPY and read_parquet take no bound parameters for the file name, so quote it as a literal."""
    return str(path).replace("'", "''")
