"""The chunk store: Chroma's server when CHROMA_URL is set, else the embedded store under KB_HOME."""

from __future__ import annotations

from collections.abc import Callable

from chromadb.api import ClientAPI

from common.config import Settings
from common.store.breaker import CircuitBreaker
from common.store.chunk_store import ChunkStore
from common.store.client import ServerAccess, embedded_client, http_client
from common.store.connection import ChromaConnection


def build_store(
    settings: Settings, *, collection_name: str | None = None, max_batch_size: int | None = None
) -> ChunkStore:
    """`max_batch_size` caps writes below the server's own limit (tests use it to force splitting)."""
    name = collection_name or settings.chroma_collection
    connect: Callable[[], ClientAPI]
    if settings.chroma_url is None:
        path = settings.chroma_dir
        connect, target = (lambda: embedded_client(str(path))), f"embedded store at {path}"
    else:
        url = settings.chroma_url
        access = ServerAccess(
            token=settings.chroma_auth_token.get_secret_value() if settings.chroma_auth_token else None,
            api_key=settings.chroma_api_key.get_secret_value() if settings.chroma_api_key else None,
            tenant=settings.chroma_tenant,
            database=settings.chroma_database,
        )
        timeout = settings.chroma_timeout_seconds
        connect = lambda: http_client(url, access=access, timeout_seconds=timeout)  # noqa: E731
        where = f"{settings.chroma_tenant}/{settings.chroma_database}"
        target = f"Chroma server at {url} (CHROMA_URL), database {where}"
    connection = ChromaConnection(
        connect=connect,
        collection_name=name,
        target=target,
        ef_search=settings.chroma_hnsw_ef_search,
        retries=settings.chroma_retries,
        breaker=CircuitBreaker(
            failure_threshold=settings.chroma_breaker_failures,
            reset_seconds=settings.chroma_breaker_reset_seconds,
        ),
    )
    return ChunkStore(connection=connection, collection_name=name, max_batch_size=max_batch_size)
