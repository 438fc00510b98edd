"""The embedded store under threads: the first calls of a process on a fresh store path arrive together.

Before one client per path was made under a lock, 16 threads starting at a barrier on a fresh path failed
with "Could not connect to tenant default_tenant", "'RustBindingsAPI' object has no attribute 'bindings'"
or a KeyError on the path (82 of 160 calls in a measurement here)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from common.config import load_settings
from common.runtime.store import build_store
from common.store.chunk_store import ChunkStore
from common.store.client import embedded_client
from tests.support.chunks import make_chunk

THREADS = 16


def _all_at_once(work: Callable[[], None]) -> list[BaseException]:
    barrier = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever a thread raised
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


@pytest.mark.parametrize("attempt", range(5))
def test_stores_made_by_many_threads_at_once_on_a_fresh_path_all_work(tmp_path: Path, attempt: int) -> None:
    settings = load_settings(kb_home=tmp_path / f"home-{attempt}")

    failures = _all_at_once(lambda: build_store(settings).upsert([make_chunk(f"p{threading.get_ident()}")]))

    assert failures == []
    assert build_store(settings).count() == THREADS


@pytest.mark.parametrize("attempt", range(5))
def test_one_store_used_by_many_threads_at_once_on_a_fresh_path_works(tmp_path: Path, attempt: int) -> None:
    store: ChunkStore = build_store(load_settings(kb_home=tmp_path / f"home-{attempt}"))

    failures = _all_at_once(lambda: store.upsert([make_chunk(f"p{threading.get_ident()}")]))

    assert failures == []
    assert store.count() == THREADS


def test_every_client_of_one_path_is_the_same_one(tmp_path: Path) -> None:
    path = tmp_path / "chroma"

    assert embedded_client(str(path)) is embedded_client(str(tmp_path / "." / "chroma"))
