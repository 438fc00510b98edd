"""Write-once files in a folder and in a bucket (fake-gcs-server, which enforces `ifGenerationMatch`): a name
is stored once, never replaced, and a removed file reads as absent."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from common.config import get_settings
from common.errors import BlobConflict
from common.infra.write_once_files import BucketWriteOnceFiles, FolderWriteOnceFiles, WriteOnceFiles
from common.runtime.infra import build_blob_store

WRITERS = 8


@pytest.fixture(params=["folder", "bucket"])
def files(request: pytest.FixtureRequest, tmp_path: Path) -> WriteOnceFiles:
    if request.param == "folder":
        return FolderWriteOnceFiles(tmp_path / "files")
    request.getfixturevalue("gcs_bucket")
    return BucketWriteOnceFiles(build_blob_store(get_settings()), prefix="parts/")


def _source(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"source-{uuid.uuid4().hex}"
    path.write_text(text)
    return path


def test_a_created_file_is_listed_and_copied_whole(files: WriteOnceFiles, tmp_path: Path) -> None:
    files.create("a.duckdb", _source(tmp_path, "first"))

    copy = files.copy("a.duckdb", tmp_path / "read")

    assert files.names() == ["a.duckdb"]
    assert copy is not None and copy.read_text() == "first"


def test_a_name_is_never_written_twice(files: WriteOnceFiles, tmp_path: Path) -> None:
    files.create("a.duckdb", _source(tmp_path, "first"))

    with pytest.raises(BlobConflict):
        files.create("a.duckdb", _source(tmp_path, "second"))

    copy = files.copy("a.duckdb", tmp_path / "read")
    assert copy is not None and copy.read_text() == "first"


def test_writers_of_one_name_at_once_leave_exactly_one_of_them(files: WriteOnceFiles, tmp_path: Path) -> None:
    sources = [_source(tmp_path, f"writer {n}") for n in range(WRITERS)]
    won: list[int] = []
    start = threading.Barrier(WRITERS)

    def write(n: int) -> None:
        start.wait()
        try:
            files.create("a.duckdb", sources[n])
            won.append(n)
        except BlobConflict:
            pass

    _run([lambda n=n: write(n) for n in range(WRITERS)])

    copy = files.copy("a.duckdb", tmp_path / "read")
    assert len(won) == 1
    assert copy is not None and copy.read_text() == f"writer {won[0]}"
    assert files.names() == ["a.duckdb"]


def test_a_removed_or_never_written_file_has_no_copy(files: WriteOnceFiles, tmp_path: Path) -> None:
    files.create("a.duckdb", _source(tmp_path, "first"))

    files.remove("a.duckdb")
    files.remove("a.duckdb")

    assert files.copy("a.duckdb", tmp_path / "read") is None
    assert files.copy("never.duckdb", tmp_path / "read") is None
    assert files.names() == []


def _run(tasks: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=task) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
