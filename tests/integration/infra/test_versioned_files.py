"""Versioned files on one machine: DuckDB opens a file in one process at a time, so readers get copies and
never block (or break) the machine's writers."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import duckdb

from common.infra.versioned_files import FolderFiles

ROUNDS = 60


def _write(directory: str, rounds: int) -> None:
    files = FolderFiles(Path(directory))
    for i in range(rounds):
        with files.edit("state.duckdb") as path:
            conn = duckdb.connect(str(path))
            conn.execute("CREATE TABLE IF NOT EXISTS t (i INTEGER)")
            conn.execute("INSERT INTO t VALUES (?)", [i])
            conn.close()


def _read(directory: str, scratch: str, rounds: int) -> None:
    files = FolderFiles(Path(directory))
    for i in range(rounds):
        copy = files.copy("state.duckdb", Path(scratch) / str(i))
        if copy is not None:
            conn = duckdb.connect(str(copy))
            conn.execute("SELECT count(*) FROM t").fetchone()
            conn.close()


def test_a_reader_gets_a_copy_not_the_file_itself(tmp_path: Path) -> None:
    _write(str(tmp_path / "files"), 1)

    copy = FolderFiles(tmp_path / "files").copy("state.duckdb", tmp_path / "scratch")

    assert copy == tmp_path / "scratch" / "state.duckdb"
    assert duckdb.connect(str(copy)).execute("SELECT i FROM t").fetchall() == [(0,)]


def test_there_is_no_copy_of_a_file_never_written(tmp_path: Path) -> None:
    assert FolderFiles(tmp_path / "files").copy("state.duckdb", tmp_path / "scratch") is None


def test_processes_reading_while_others_write_all_succeed_and_keep_every_write(tmp_path: Path) -> None:
    directory = str(tmp_path / "files")
    context = multiprocessing.get_context("spawn")
    workers = [
        *(context.Process(target=_write, args=(directory, ROUNDS)) for _ in range(2)),
        *(context.Process(target=_read, args=(directory, str(tmp_path / f"r{n}"), ROUNDS)) for n in range(2)),
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    copy = FolderFiles(Path(directory)).copy("state.duckdb", tmp_path / "final")
    assert copy is not None
    assert duckdb.connect(str(copy)).execute("SELECT count(*) FROM t").fetchone() == (2 * ROUNDS,)
