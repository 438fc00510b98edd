"""Small named records in a folder: what several threads writing one name at once leave behind."""

from __future__ import annotations

import threading
from pathlib import Path

from common.infra.record_files import FolderRecordFiles

WRITERS = 16
ROUNDS = 50


def test_writers_of_one_name_at_once_all_succeed_and_leave_one_whole_record(tmp_path: Path) -> None:
    """Found by the `kb serve` stress test: one person's concurrent questions all rewrite their latest
    question record, and a shared temporary file made the second rename fail."""
    records = FolderRecordFiles(tmp_path / "records")
    failures: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def write(n: int) -> None:
        start.wait()
        try:
            for round_ in range(ROUNDS):
                records.write("asker-W222.json", f"writer {n} round {round_}".encode())
        except OSError as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert records.names() == ["asker-W222.json"]
    assert (records.read("asker-W222.json") or b"").decode().endswith(f"round {ROUNDS - 1}")
