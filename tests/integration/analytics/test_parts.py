"""A month as part files in GCS (fake-gcs-server): every reader counts an event once however many parts hold
it, compaction merges parts and drops the copies, and neither ever loses an event, whatever runs beside it."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from common.analytics.compaction import compact_fully, compact_periods, merge_parts
from common.analytics.evaluation_inputs import AnalyticsEvaluationInputs
from common.analytics.ingest import store_part
from common.analytics.period_files import PREFIX, Part, PeriodFiles, merged_part, part_of
from common.analytics.query import query
from common.analytics.report_data import report_data
from common.analytics.schema import EVENT_LOG, MIGRATIONS
from common.config import get_settings
from common.events.model import BotResponse, ChunkAccessed, QueryRecord
from common.infra.duckdb_migrations import migrate
from common.infra.write_once_files import BucketWriteOnceFiles
from common.runtime.events import build_period_files
from common.runtime.infra import build_blob_store

AT = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
PERIOD = "2026-11"


@pytest.fixture
def files(gcs_bucket: str) -> PeriodFiles:
    return build_period_files(get_settings())


def access(n: int, at: datetime = AT) -> dict[str, Any]:
    return ChunkAccessed(
        event_id=f"access-{n}",
        occurred_at=at,
        chunk_id=f"c{n}",
        page_id="p1",
        query_id="q1",
        rank=1,
        source="cli",
    ).to_record()


def asked(n: int, at: datetime = AT) -> list[dict[str, Any]]:
    """One question and its answer."""
    return [
        QueryRecord(
            event_id=f"question-{n}",
            occurred_at=at,
            question_id=f"q{n}",
            user_id="U1",
            channel_type="im",
            query=f"question {n}",
            results=3,
            top_score=0.8,
            latency_ms=40.0,
            source="slack",
        ).to_record(),
        BotResponse(
            event_id=f"answer-{n}",
            occurred_at=at,
            answer_id=f"a{n}",
            question_id=f"q{n}",
            writer="extractive",
            grounded=True,
            cited_chunk_ids=["c1"],
            latency_ms=90.0,
        ).to_record(),
    ]


def counted(files: PeriodFiles, tmp_path: Path, table: str = "chunk_access_log") -> int:
    """Rows as every reader sees them."""
    copies = files.local_copies(tmp_path / f"read-{uuid.uuid4().hex[:8]}")
    return int(query(copies, f"SELECT count(*) FROM {table}").rows[0][0])


def stored(files: PeriodFiles, tmp_path: Path, table: str = "chunk_access_log") -> tuple[int, int]:
    """(rows, distinct event ids) physically in the files, summed file by file."""
    rows = distinct = 0
    for path in files.local_copies(tmp_path / f"raw-{uuid.uuid4().hex[:8]}"):
        with duckdb.connect(str(path), read_only=True) as conn:
            found = conn.execute(f"SELECT count(*), count(DISTINCT event_id) FROM {table}").fetchone()
            assert found is not None
            rows, distinct = rows + int(found[0]), distinct + int(found[1])
    return rows, distinct


def test_each_stored_batch_is_a_new_level_0_part_of_its_month(files: PeriodFiles) -> None:
    store_part(files, PERIOD, [access(n) for n in range(3)])
    store_part(files, PERIOD, [access(n) for n in range(3, 5)])

    parts = files.parts(PERIOD)

    assert [part.level for part in parts] == [0, 0]
    assert all(part.name.startswith("events-2026-11.L0.") for part in parts)


def test_an_event_in_two_parts_is_counted_once_by_queries_the_report_and_the_evaluation(
    files: PeriodFiles, tmp_path: Path
) -> None:
    store_part(files, PERIOD, asked(1) + asked(2))
    store_part(files, PERIOD, asked(2) + asked(3))  # question 2 redelivered into a second part
    paths = files.local_copies(tmp_path / "read")

    data = report_data(paths, now=AT + timedelta(hours=1), review_queue=[], days=7)
    answered = AnalyticsEvaluationInputs(paths).answered_between(AT, AT + timedelta(hours=1))

    assert query(paths, "SELECT count(*) FROM query_records").rows == [(3,)]
    assert query(paths, f"SELECT count(*) FROM {EVENT_LOG}").rows == [(6,)]
    assert sum(day["questions"] for day in data["questions_per_day"]) == 3
    assert sorted(question.question_id for question in answered) == ["q1", "q2", "q3"]


def test_the_same_event_in_two_months_files_is_not_mistaken_for_a_repeat(
    files: PeriodFiles, tmp_path: Path
) -> None:
    store_part(files, "2026-10", [access(1, AT - timedelta(days=10))])
    store_part(files, PERIOD, [access(2)])

    assert counted(files, tmp_path) == 2


def test_a_full_level_is_merged_into_one_part_of_the_next_without_the_copies(
    files: PeriodFiles, tmp_path: Path
) -> None:
    for start in range(4):
        store_part(files, PERIOD, [access(n) for n in range(start * 10, start * 10 + 15)])  # 5 repeated

    summary = compact_periods(files, [PERIOD], fan_in=4)

    [part] = files.parts(PERIOD)
    assert part.level == 1
    assert (summary.merged, summary.written, summary.events, summary.repeats_dropped) == (4, 1, 45, 15)
    assert stored(files, tmp_path) == (45, 45)
    assert counted(files, tmp_path) == 45


def test_levels_short_of_the_fan_in_are_left_alone(files: PeriodFiles) -> None:
    for n in range(3):
        store_part(files, PERIOD, [access(n)])

    summary = compact_periods(files, [PERIOD], fan_in=4)

    assert summary.merged == 0
    assert [part.level for part in files.parts(PERIOD)] == [0, 0, 0]


def test_merges_climb_the_levels(files: PeriodFiles, tmp_path: Path) -> None:
    for n in range(9):
        store_part(files, PERIOD, [access(n)])
        compact_periods(files, [PERIOD], fan_in=3)

    assert [part.level for part in files.parts(PERIOD)] == [2]
    assert stored(files, tmp_path) == (9, 9)


def test_a_merge_whose_input_is_gone_changes_nothing(files: PeriodFiles, tmp_path: Path) -> None:
    for n in range(3):
        store_part(files, PERIOD, [access(n)])
    inputs = files.parts(PERIOD)
    files.remove(inputs[0])  # as a racing compaction that merged it would have

    summary = merge_parts(files, inputs, 1)

    assert summary.merged == 0
    assert files.parts(PERIOD) == inputs[1:]


def test_a_merge_is_named_by_its_inputs_whatever_their_order() -> None:
    inputs = [Part(PERIOD, 0, f"events-2026-11.L0.{n:016x}.duckdb") for n in range(3)]

    name = merged_part(PERIOD, 1, inputs).name

    assert name == merged_part(PERIOD, 1, inputs[::-1]).name
    assert name != merged_part(PERIOD, 1, inputs[:2]).name
    assert part_of(name) == Part(PERIOD, 1, name)


def test_a_full_compaction_leaves_each_month_in_one_file(files: PeriodFiles, tmp_path: Path) -> None:
    for n in range(5):
        store_part(files, PERIOD, [access(n), access(n + 1)])
    store_part(files, "2026-10", [access(100, AT - timedelta(days=10))])

    summary = compact_fully(files, files.periods())

    assert [part.period for part in files.parts()] == ["2026-10", PERIOD]
    assert summary.merged == 5 and summary.repeats_dropped == 4
    assert stored(files, tmp_path) == (7, 7)


def _legacy_month(path: Path, records: list[dict[str, Any]]) -> None:
    """A monthly file as ingest wrote it before part files: migrations 1-5 (primary keys) and the whole
    payload in event_log."""
    with duckdb.connect(str(path)) as conn:
        migrate(conn, MIGRATIONS[:5])
        for record in records:
            fields = {key: record[key] for key in ("chunk_id", "page_id", "query_id", "rank", "source")}
            conn.execute(
                f"INSERT INTO {EVENT_LOG} VALUES (?, ?, ?, ?, ?)",
                [record["event_id"], record["occurred_at"], record["kind"], 1, json.dumps(fields)],
            )
            conn.execute(
                "INSERT INTO chunk_access_log VALUES (?, ?, ?, ?, ?, ?, ?)",
                [record["event_id"], record["occurred_at"], *fields.values()],
            )


def test_an_old_single_monthly_file_is_read_as_one_more_part_and_merged_like_one(
    files: PeriodFiles, tmp_path: Path
) -> None:
    legacy = tmp_path / "events-2026-11.duckdb"
    _legacy_month(legacy, [access(n) for n in range(4)])
    BucketWriteOnceFiles(build_blob_store(get_settings()), prefix=PREFIX).create(legacy.name, legacy)
    store_part(files, PERIOD, [access(n) for n in range(2, 6)])  # two of them again

    before = counted(files, tmp_path)
    compact_fully(files, [PERIOD])

    assert before == 6
    assert [part.level for part in files.parts(PERIOD)] == [1]
    assert stored(files, tmp_path) == (6, 6)
    copies = files.local_copies(tmp_path / "after")
    sql = f"SELECT event_id, payload->>'chunk_id' FROM {EVENT_LOG} WHERE payload IS NOT NULL ORDER BY 1"
    assert query(copies, sql).rows == [(f"access-{n}", f"c{n}") for n in range(4)]  # as it was stored


WRITERS = 3
BATCHES = 12
EVENTS_PER_BATCH = 10


def test_racing_ingests_compactions_and_readers_lose_nothing_and_count_nothing_twice(
    files: PeriodFiles, tmp_path: Path
) -> None:
    """Writers store batches that each repeat part of another writer's (redeliveries), two compactors
    merge as fast as they can, and a reader keeps counting: it never sees fewer events than were stored
    before it started, nor more than exist."""
    done = threading.Event()
    lock = threading.Lock()
    finished_ids: set[str] = set()
    readings: list[tuple[int, int]] = []

    def batch(writer: int, n: int) -> list[dict[str, Any]]:
        first = (writer * BATCHES + n) * EVENTS_PER_BATCH
        return [access(k) for k in range(first - 3, first + EVENTS_PER_BATCH) if k >= 0]

    def write(writer: int) -> None:
        for n in range(BATCHES):
            records = batch(writer, n)
            store_part(files, PERIOD, records)
            with lock:
                finished_ids.update(str(record["event_id"]) for record in records)

    def compact() -> None:
        while not done.is_set():
            compact_periods(files, [PERIOD], fan_in=3)

    def read() -> None:
        while not done.is_set():
            with lock:
                floor = len(finished_ids)
            readings.append((floor, counted(files, tmp_path)))

    def stopping_all_on_failure(task: Any, *args: Any) -> None:
        try:
            task(*args)
        except Exception:  # the others stop, and this future raises it below
            done.set()
            raise

    with ThreadPoolExecutor(max_workers=WRITERS + 3) as pool:
        writing = [pool.submit(stopping_all_on_failure, write, n) for n in range(WRITERS)]
        others = [pool.submit(stopping_all_on_failure, task) for task in (compact, compact, read)]
        for future in writing:
            future.result(timeout=300)
        done.set()
        for future in others:
            future.result(timeout=300)

    total = WRITERS * BATCHES * EVENTS_PER_BATCH
    assert len(finished_ids) == total
    assert readings and all(floor <= seen <= total for floor, seen in readings)
    assert counted(files, tmp_path) == total
    compact_fully(files, [PERIOD])
    assert stored(files, tmp_path) == (total, total)
