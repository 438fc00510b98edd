"""Files in a Google Cloud Storage bucket, written only over the version the writer last saw.

Derived artifacts (the keyword index) and analytics files live in GCS in the cloud, where several Cloud Run
instances and jobs share them. Every write names the generation it replaces (`0` = "must not exist yet"), so
two writers racing never silently overwrite each other: the loser gets `BlobConflict` and decides what to do
(re-read and retry, or leave the newer file alone). Reads return the generation they got, for the next write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import requests
from google.api_core import exceptions as google_errors
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY

from common.errors import BlobConflict, BlobMissing, BlobStoreError, BlobStoreUnavailable

TIMEOUT_SECONDS = 60.0
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BlobVersion:
    name: str
    generation: int


class GcsBlobStore:
    def __init__(self, *, bucket: str, client: storage.Client, retry_seconds: float = 60.0) -> None:
        self._bucket_name = bucket
        self._bucket = client.bucket(bucket)
        self._retry = DEFAULT_RETRY.with_timeout(retry_seconds)

    @classmethod
    def connect(
        cls, *, bucket: str, endpoint: str | None, project: str | None, retry_seconds: float = 60.0
    ) -> GcsBlobStore:
        """Google's Storage API with the environment's credentials, or an emulator at `endpoint`
        (unauthenticated, as emulators expect)."""
        if endpoint:
            client = storage.Client(
                project=project or "local",
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options={"api_endpoint": endpoint},
            )
        else:
            client = storage.Client(project=project)
        return cls(bucket=bucket, client=client, retry_seconds=retry_seconds)

    def generation(self, name: str) -> int | None:
        """The current generation of `name`, or None when it does not exist."""
        blob = self._call(
            name, lambda: self._bucket.get_blob(name, timeout=TIMEOUT_SECONDS, retry=self._retry)
        )
        return None if blob is None else int(blob.generation)

    def download(self, name: str, destination: Path) -> BlobVersion | None:
        """Copy `name` to `destination` and return the generation copied, or None when it does not exist.

        The read is pinned to the generation it looked up, so a file replaced mid-download is read again
        rather than returned half old, half new."""
        for _ in range(3):
            generation = self.generation(name)
            if generation is None:
                return None
            try:
                self._download_pinned(name, destination, generation)
            except BlobConflict:
                continue
            return BlobVersion(name, generation)
        raise BlobConflict(f"gs://{self._bucket_name}/{name} kept changing while it was read; try again.")

    def _download_pinned(self, name: str, destination: Path, generation: int) -> None:
        blob = self._bucket.blob(name)
        self._call(
            name,
            lambda: blob.download_to_filename(
                str(destination), if_generation_match=generation, timeout=TIMEOUT_SECONDS, retry=self._retry
            ),
        )

    def upload(self, name: str, source: Path, *, replaces: int | None) -> BlobVersion:
        """Write `source` as `name` only if its stored generation is still `replaces` (None: must be new)."""
        blob = self._bucket.blob(name)
        self._call(
            name,
            lambda: blob.upload_from_filename(
                str(source),
                if_generation_match=replaces or 0,
                timeout=TIMEOUT_SECONDS,
                retry=self._retry,
            ),
        )
        return BlobVersion(name, int(blob.generation))

    def put_bytes(self, name: str, data: bytes) -> None:
        """Write a small object unconditionally (for records keyed by a unique name)."""
        blob = self._bucket.blob(name)
        self._call(name, lambda: blob.upload_from_string(data, timeout=TIMEOUT_SECONDS, retry=self._retry))

    def write_bytes(self, name: str, data: bytes, *, replaces: int | None) -> BlobVersion:
        """Write a small object only if its stored generation is still `replaces` (None: must be new)."""
        blob = self._bucket.blob(name)
        self._call(
            name,
            lambda: blob.upload_from_string(
                data, if_generation_match=replaces or 0, timeout=TIMEOUT_SECONDS, retry=self._retry
            ),
        )
        return BlobVersion(name, int(blob.generation))

    def read_bytes(self, name: str) -> tuple[bytes, BlobVersion] | None:
        """A small object and the generation read, for a later `write_bytes(replaces=...)`; None if absent."""
        for _ in range(3):
            generation = self.generation(name)
            if generation is None:
                return None
            try:
                return self._bytes_at(name, generation), BlobVersion(name, generation)
            except (BlobConflict, BlobMissing):
                continue
        raise BlobConflict(f"gs://{self._bucket_name}/{name} kept changing while it was read; try again.")

    def _bytes_at(self, name: str, generation: int) -> bytes:
        blob = self._bucket.blob(name)
        data: bytes = self._call(
            name,
            lambda: blob.download_as_bytes(
                if_generation_match=generation, timeout=TIMEOUT_SECONDS, retry=self._retry
            ),
        )
        return data

    def get_bytes(self, name: str) -> bytes | None:
        blob = self._bucket.blob(name)
        try:
            data: bytes = self._call(
                name, lambda: blob.download_as_bytes(timeout=TIMEOUT_SECONDS, retry=self._retry)
            )
            return data
        except BlobMissing:
            return None

    def names(self, prefix: str) -> list[str]:
        return self._call(
            prefix,
            lambda: sorted(
                blob.name
                for blob in self._bucket.client.list_blobs(
                    self._bucket, prefix=prefix, timeout=TIMEOUT_SECONDS, retry=self._retry
                )
            ),
        )

    def delete(self, name: str) -> None:
        try:
            self._call(
                name, lambda: self._bucket.delete_blob(name, timeout=TIMEOUT_SECONDS, retry=self._retry)
            )
        except BlobMissing:
            return

    def _call(self, name: str, operation: Callable[[], T]) -> T:
        where = f"gs://{self._bucket_name}/{name}"
        try:
            return operation()
        except google_errors.PreconditionFailed as exc:
            raise BlobConflict(f"{where} was changed by another writer since it was read.") from exc
        except google_errors.NotFound as exc:
            if self._bucket_exists():
                raise BlobMissing(f"{where} does not exist.") from exc
            raise BlobStoreError(
                f"{where}: the bucket does not exist or is not visible ({exc.message})."
            ) from exc
        except google_errors.Forbidden as exc:
            raise BlobStoreError(
                f"{where}: access denied ({exc.message}); grant the service account storage.objectAdmin."
            ) from exc
        except (google_errors.GoogleAPICallError, google_errors.RetryError, requests.RequestException) as exc:
            raise BlobStoreUnavailable(
                f"{where}: Cloud Storage did not answer ({exc}); retry later."
            ) from exc

    def _bucket_exists(self) -> bool:
        try:
            return bool(self._bucket.exists(timeout=TIMEOUT_SECONDS, retry=self._retry))
        except (google_errors.GoogleAPICallError, requests.RequestException):
            return False
