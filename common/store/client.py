"""Making a Chroma client: embedded on disk, or HTTP to a server with a timeout on every request.

chromadb's `HttpClient` creates its HTTP session with no timeout and no option to set one, and its
constructor already talks to the server, turning a refused connection into a bare ValueError. This module
hides both quirks so `ChunkStore` only ever sees httpx transport errors for an unreachable server.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaSettings

from common.errors import ConfigError, StoreError


@dataclass(frozen=True, slots=True)
class ServerAddress:
    host: str
    port: int
    ssl: bool

    @classmethod
    def parse(cls, url: str) -> ServerAddress:
        """Standard URL semantics (no port = 80/443), so the heartbeat and the client agree."""
        parts = urlsplit(url)
        if parts.path not in ("", "/"):
            raise ConfigError(f"CHROMA_URL {url!r} has a path; Chroma is served at the root of its host.")
        ssl = parts.scheme == "https"
        return cls(host=parts.hostname or "localhost", port=parts.port or (443 if ssl else 80), ssl=ssl)

    @property
    def base_url(self) -> str:
        return f"{'https' if self.ssl else 'http'}://{self.host}:{self.port}"


_embedded: dict[str, ClientAPI] = {}
_embedded_lock = threading.Lock()


def embedded_client(path: str) -> ClientAPI:
    """The process's one client for the embedded store at `path`, made under a lock and never closed.

    Chroma caches one system per path in a class-level dict that it fills without a lock. Two threads making
    the first client at once (the first requests of `kb serve`) start two systems, and the loser's failed
    start pops and stops the system the winner is using: "Could not connect to tenant default_tenant",
    "'RustBindingsAPI' object has no attribute 'bindings'", a `KeyError` on the path. Closing a client would
    stop the shared system under every other user of the path, so the client lives as long as the process.
    """
    key = str(Path(path).resolve())
    with _embedded_lock:
        client = _embedded.get(key)
        if client is None:
            client = chromadb.PersistentClient(path=key, settings=ChromaSettings(anonymized_telemetry=False))
            _embedded[key] = client
        return client


@dataclass(frozen=True, slots=True)
class ServerAccess:
    """Who the client is and where its collections live: one Chroma server needs none of it; a distributed
    deployment or Chroma Cloud (`https://api.trychroma.com`) names a tenant and database and wants an API
    key in `x-chroma-token`, which is all chromadb's own `CloudClient` adds to the HTTP client."""

    token: str | None = None
    """Sent as `Authorization: Bearer` (a proxy or IAM in front of the server)."""
    api_key: str | None = None
    tenant: str = "default_tenant"
    database: str = "default_database"

    @property
    def headers(self) -> dict[str, str] | None:
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.api_key:
            headers["x-chroma-token"] = self.api_key
        return headers or None


def http_client(url: str, *, access: ServerAccess, timeout_seconds: float) -> ClientAPI:
    """A client for a Chroma server; a heartbeat with our timeout goes first, so a dead or hung server
    surfaces as an httpx transport error before chromadb's untimed constructor requests run."""
    address = ServerAddress.parse(url)
    headers = access.headers
    httpx.get(
        f"{address.base_url}/api/v2/heartbeat", headers=headers, timeout=timeout_seconds
    ).raise_for_status()
    try:
        client = chromadb.HttpClient(
            host=address.host,
            port=address.port,
            ssl=address.ssl,
            headers=headers,
            settings=ChromaSettings(anonymized_telemetry=False),
            tenant=access.tenant,
            database=access.database,
        )
    except ValueError as exc:
        if isinstance(exc.__context__, httpx.TransportError):
            raise exc.__context__ from exc
        raise
    _set_http_timeout(client, timeout_seconds)
    return client


def _set_http_timeout(client: ClientAPI, timeout_seconds: float) -> None:
    """Reach into the client's private `_server._session` (an `httpx.Client`) to set a timeout.

    Fail loudly if a chromadb upgrade moves it, rather than silently running without timeouts.
    """
    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):
        raise StoreError(
            "Cannot set a timeout on this chromadb version's HTTP client (no _server._session). "
            "Pin chromadb to the version in pyproject.toml or update common/chroma_client.py."
        )
    session.timeout = httpx.Timeout(timeout_seconds)
