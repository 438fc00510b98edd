"""Work a process does off the request path (on a timer, or after answering), and locks that other
processes on the machine respect too."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path


class Periodic:
    """Calls `tick` every `seconds` on a daemon thread, started on first need; `close` stops the thread and
    runs one last tick, so what the worker still holds is handled before the process ends."""

    def __init__(self, *, name: str, seconds: float, tick: Callable[[], object]) -> None:
        self._name = name
        self._seconds = seconds
        self._tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join()
        self._tick()

    def _run(self) -> None:
        while not self._stop.wait(self._seconds):
            self._tick()


@contextmanager
def machine_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` held by this thread until the block ends, across every process of the
    machine (the embedded store and the local analytics files have no other way to serialise writers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class TaskPool:
    """Runs tasks on a few threads. Tasks that finished cleanly are forgotten at once, so a long-lived
    instance does not keep every future; `drain` waits for the rest and raises the first failure."""

    def __init__(self, *, name: str, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._unfinished: set[Future[object]] = set()

    def submit(self, task: Callable[[], object]) -> None:
        future = self._pool.submit(task)
        with self._lock:
            self._unfinished.add(future)
        future.add_done_callback(self._forget_if_clean)

    def drain(self) -> None:
        """Wait for every task submitted so far (tests, and shutdown so nothing is cut off)."""
        while True:
            with self._lock:
                if not self._unfinished:
                    return
                future = self._unfinished.pop()
            future.result()

    def _forget_if_clean(self, future: Future[object]) -> None:
        if future.exception() is None:
            with self._lock:
                self._unfinished.discard(future)
