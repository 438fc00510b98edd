"""A small DuckDB database shared by every instance: a file on `VersionedFiles`, changed by compare-and-swap.

In the cloud the file is an object in `GCS_BUCKET` and every change is a compare-and-swap on its generation
(`common.infra.versioned_files`): a change downloads the file, applies one transition inside a transaction
and uploads it only over the generation it read; the loser of a race runs its transition again on the
winner's file, where it may now be refused or have nothing left to do. On one machine the file lives under
KB_HOME and changes are serialised by a machine lock. So two instances can never both apply one
transition, and no external database is needed for state that changes a few times a minute at most.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import duckdb

from common.errors import BlobConflict, StateConflict
from common.infra.duckdb_migrations import Migration, migrate
from common.infra.versioned_files import VersionedFiles
from common.logs import get_logger

log = get_logger(__name__)

T = TypeVar("T")
MAX_ATTEMPTS = 12
"""Every lost race means another writer won, so this many writers at one moment all get through."""
RETRY_JITTER_SECONDS = 0.05

Connection = duckdb.DuckDBPyConnection


class SharedDuckDB:
    def __init__(
        self, files: VersionedFiles, name: str, migrations: Sequence[Migration], *, what: str
    ) -> None:
        self._files = files
        self._name = name
        self._migrations = migrations
        self._what = what
        """What the file holds, for the error a person reads ("the document workflow")."""

    def change(self, transition: Callable[[Connection], T]) -> T:
        """Apply `transition` in one transaction on the latest file and save it over the generation read;
        run it again on the newer file when another writer saved first."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self._files.edit(self._name) as path:
                    return self._in_transaction(path, transition)
            except BlobConflict:
                log.info("shared_file_changed_meanwhile", file=self._name, attempt=attempt)
                time.sleep(random.uniform(0, RETRY_JITTER_SECONDS * attempt))  # spread the next round out
        raise StateConflict(
            f"{self._what.capitalize()} kept changing during {MAX_ATTEMPTS} attempts; nothing was changed, "
            "try again."
        )

    def read(self, query: Callable[[Connection], T]) -> T:
        with tempfile.TemporaryDirectory(prefix="kb-shared-") as scratch:
            copy = self._files.copy(self._name, Path(scratch))
            conn = duckdb.connect(str(copy) if copy is not None else ":memory:")
            try:
                conn.execute("SET TimeZone = 'UTC'")
                migrate(conn, self._migrations)
                return query(conn)
            finally:
                conn.close()

    def _in_transaction(self, path: Path, transition: Callable[[Connection], T]) -> T:
        conn = duckdb.connect(str(path))
        try:
            conn.execute("SET TimeZone = 'UTC'")
            migrate(conn, self._migrations)
            conn.execute("BEGIN TRANSACTION")
            try:
                result = transition(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            conn.execute("CHECKPOINT")
            return result
        finally:
            conn.close()
