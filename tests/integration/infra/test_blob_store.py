"""Files in GCS (the fake-gcs-server emulator): every write names the generation it replaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.config import load_settings
from common.errors import BlobConflict, BlobStoreError, BlobStoreUnavailable
from common.infra.blob_store import GcsBlobStore
from common.runtime.infra import build_blob_store
from tests.support.chroma_server import free_port
from tests.support.gcs_server import GcsServer


@pytest.fixture
def blobs(gcs_bucket: str) -> GcsBlobStore:
    return build_blob_store(load_settings())


def _file(tmp_path: Path, content: str) -> Path:
    path = tmp_path / f"{abs(hash(content))}.txt"
    path.write_text(content)
    return path


def test_a_missing_file_downloads_as_none(blobs: GcsBlobStore, tmp_path: Path) -> None:
    assert blobs.download("nothing/here.tar", tmp_path / "out") is None
    assert blobs.generation("nothing/here.tar") is None


def test_an_uploaded_file_downloads_with_its_generation(blobs: GcsBlobStore, tmp_path: Path) -> None:
    written = blobs.upload("a.txt", _file(tmp_path, "first"), replaces=None)

    read = blobs.download("a.txt", tmp_path / "out")

    assert read == written
    assert (tmp_path / "out").read_text() == "first"


def test_creating_a_file_that_already_exists_is_a_conflict(blobs: GcsBlobStore, tmp_path: Path) -> None:
    blobs.upload("a.txt", _file(tmp_path, "first"), replaces=None)

    with pytest.raises(BlobConflict, match="changed by another writer"):
        blobs.upload("a.txt", _file(tmp_path, "second"), replaces=None)

    blobs.download("a.txt", tmp_path / "out")
    assert (tmp_path / "out").read_text() == "first"


def test_a_writer_holding_an_old_generation_cannot_overwrite_a_newer_file(
    blobs: GcsBlobStore, tmp_path: Path
) -> None:
    first = blobs.upload("a.txt", _file(tmp_path, "first"), replaces=None)
    second = blobs.upload("a.txt", _file(tmp_path, "second"), replaces=first.generation)

    with pytest.raises(BlobConflict):
        blobs.upload("a.txt", _file(tmp_path, "stale writer"), replaces=first.generation)

    assert blobs.generation("a.txt") == second.generation


def test_a_missing_bucket_is_reported_by_name(gcs_server: GcsServer, tmp_path: Path) -> None:
    blobs = build_blob_store(load_settings(gcs_bucket="no-such-bucket", gcs_endpoint=gcs_server.url))

    with pytest.raises(BlobStoreError, match=r"gs://no-such-bucket/a\.txt"):
        blobs.upload("a.txt", _file(tmp_path, "x"), replaces=None)


def test_an_unreachable_storage_api_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    settings = load_settings(gcs_bucket="b", gcs_endpoint=f"http://127.0.0.1:{free_port()}")
    blobs = build_blob_store(settings, retry_seconds=1.0)

    with pytest.raises(BlobStoreUnavailable, match="retry later"):
        blobs.generation("a.txt")
