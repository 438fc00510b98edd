"""The analytics store on real DuckDB files: migrations, typed tables, exactly-once appends, rejections."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from common.analytics.schema import KINDS, MIGRATIONS, TABLES, TYPED_TABLES
from common.analytics.store import append_records, file_name, open_store, period_of
from common.errors import InvalidEvent
from common.events.model import (
    AreaApproverChanged,
    BehaviouralSignal,
    ChunkAccessed,
    DocumentChanged,
    DocumentVersionCreated,
    EvalResult,
    OwnerNotified,
    OwnerUnreachable,
    PageReviewed,
    UserFeedback,
)

AT = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


def feedback(
    event_id: str, *, vote: str = "helpful", at: datetime = AT, answer_id: str = "a1"
) -> dict[str, Any]:
    return UserFeedback(
        event_id=event_id,
        occurred_at=at,
        vote_id=f"vote-{event_id}",
        chunk_id="c1",
        page_id="p1",
        answer_id=answer_id,
        user_id="U1",
        vote=vote,
        comment="",
        question="How do I book leave?",
        quality_before=50.0,
        quality_after=58.0,
    ).to_record()


def new_kind(kind: str, event_id: str, at: datetime = AT, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "version": 1, "event_id": event_id, "occurred_at": at.isoformat(), **fields}


# One golden payload per kind: what a producer sends besides kind, version, event_id and occurred_at.
GOLDEN: dict[str, dict[str, Any]] = json.loads("""{
  "behavioural_signal": {"signal": "source_click", "answer_id": "a1", "user_id": "U1", "detail": ""},
  "chunk_access": {"chunk_id": "c1", "page_id": "p1", "query_id": "q1", "rank": 2, "source": "slack"},
  "eval_result": {"run_id": "r1", "dataset": "scifact", "qrels": "test", "mode": "hybrid", "ndcg_at_10": 0.7,
                  "recall_at_100": 0.9, "mrr_at_10": 0.6, "queries": 300},
  "owner_notified": {"owner": "ann", "page_id": "p1", "reason": "incorrect", "slack_user_id": "U9"},
  "owner_unreachable": {"owner": "bob", "page_id": "p2", "reason": "incorrect", "error": "users_not_found"},
  "page_reviewed": {"page_id": "p1", "reviewer": "ann", "chunks": 3},
  "query_record": {"question_id": "q1", "user_id": "U1", "channel_type": "im", "query": "How do I book leave",
                   "results": 5, "top_score": 0.83, "latency_ms": 41.5, "source": "slack"},
  "bot_response": {"answer_id": "a1", "question_id": "q1", "writer": "extractive", "grounded": true,
                   "cited_chunk_ids": ["c1", "c2"], "latency_ms": 120},
  "quality_report": {"chunks": 1200, "mean": 61.2, "p10": 40.0, "p50": 62.0, "p90": 80.5, "overdue": 35,
                     "below_threshold": 12, "verified": 400},
  "document": {"page_id": "p1", "space_key": "HR", "title": "Leave", "url": "https://w/p1", "owner": "ann",
               "document_id": "d1", "transition": "published", "actor": "kb", "status": "published",
               "area": "people", "doc_type": "policy", "classification": "internal", "document_version": 2},
  "document_version": {"page_id": "p1", "page_version": 7, "updated_at": "2026-11-02T08:00:00-05:00",
                       "document_id": "d1", "body_hash": "ab12", "editor": "U1", "change_note": "Dates"},
  "area_approver": {"space_key": "HR", "approver": "ann", "area": "people", "action": "added"},
  "user_confluence_link": {"slack_user_id": "U1", "confluence_account_id": "acc-1", "email": "u1@example.com"}
}""")
EVENT_CLASSES = {
    cls.kind: cls
    for cls in (
        AreaApproverChanged,
        BehaviouralSignal,
        ChunkAccessed,
        DocumentChanged,
        DocumentVersionCreated,
        EvalResult,
        OwnerNotified,
        OwnerUnreachable,
        PageReviewed,
    )
}


def golden(kind: str, event_id: str, **changes: Any) -> dict[str, Any]:
    return new_kind(kind, event_id, **{**GOLDEN[kind], **changes})


def one_of_each() -> list[dict[str, Any]]:
    """Through the real event class where one exists, so the tables are checked against what code emits."""
    return [feedback("e-fb")] + [
        EVENT_CLASSES[kind](event_id=f"e-{kind}", occurred_at=AT, **fields).to_record()
        if kind in EVENT_CLASSES
        else new_kind(kind, f"e-{kind}", **fields)
        for kind, fields in GOLDEN.items()
    ]


@pytest.fixture
def conn(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return open_store(tmp_path / file_name("2026-11"))


def count(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def test_migrations_are_numbered_recorded_and_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "events-2026-11.duckdb"
    open_store(path).close()
    with open_store(path) as conn:
        applied = conn.execute("SELECT version, name FROM _migrations ORDER BY version").fetchall()
        tables = {row[0] for row in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert applied == [(n, m.__name__) for n, m in enumerate(MIGRATIONS, start=1)]
    assert all(name.startswith(f"m{n:03d}_") for n, name in applied)
    assert tables == {*TABLES, "_migrations"}
    assert set(TYPED_TABLES) == {kind.table for kind in KINDS.values()} - {None}


def test_a_missing_migration_is_applied_on_next_open(tmp_path: Path) -> None:
    path = tmp_path / "events-2026-11.duckdb"
    with open_store(path) as conn:
        conn.execute("DELETE FROM _migrations WHERE version = 2")
        for table in TYPED_TABLES:
            conn.execute(f"DROP TABLE {table}")
    with open_store(path) as conn:
        assert conn.execute("SELECT max(version) FROM _migrations").fetchall() == [(len(MIGRATIONS),)]
        assert count(conn, "user_feedback") == 0


def test_no_table_holds_a_quality_score(conn: duckdb.DuckDBPyConnection) -> None:
    quality_columns = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE column_name ILIKE '%quality%'"
    ).fetchall()
    assert quality_columns == []


def test_every_record_lands_in_event_log_and_its_typed_table(conn: duckdb.DuckDBPyConnection) -> None:
    records = one_of_each()
    result = append_records(conn, records)
    assert result.inserted == len(records) and result.duplicates == 0 and result.rejected == ()
    assert count(conn, "event_log") == len(records)
    for table in TYPED_TABLES:
        assert count(conn, table) == 1, table
    kinds = dict(conn.execute("SELECT event_id, kind FROM event_log").fetchall())
    assert kinds["e-owner_notified"] == "owner_notified" and kinds["e-page_reviewed"] == "page_reviewed"
    assert conn.execute("SELECT * EXCLUDE (occurred_at) FROM user_feedback").fetchall() == [
        ("e-fb", "vote-e-fb", "c1", "p1", "a1", "U1", "helpful", "", "How do I book leave?")
    ]
    assert conn.execute("SELECT cited_chunk_ids, grounded, latency_ms FROM bot_responses").fetchall() == [
        (["c1", "c2"], True, 120.0)
    ]
    assert conn.execute("SELECT rank FROM chunk_access_log").fetchall() == [(2,)]
    assert conn.execute("SELECT page_version, updated_at FROM document_versions").fetchall() == [
        (7, datetime(2026, 11, 2, 13, 0, tzinfo=UTC))
    ]
    assert conn.execute("SELECT occurred_at FROM event_log WHERE event_id = 'e-fb'").fetchall() == [(AT,)]
    payloads = dict(conn.execute("SELECT event_id, payload FROM event_log").fetchall())
    assert payloads["e-fb"] is None  # every field has a column; the quality scores are dropped
    assert json.loads(payloads["e-owner_notified"]) == GOLDEN["owner_notified"]


def test_event_log_keeps_only_the_fields_no_column_holds(conn: duckdb.DuckDBPyConnection) -> None:
    append_records(conn, [{**feedback("e1"), "client": "ios", "thread": {"ts": "1.2"}}])

    [(payload,)] = conn.execute("SELECT payload FROM event_log").fetchall()
    assert json.loads(payload) == {"client": "ios", "thread": {"ts": "1.2"}}
    assert conn.execute("SELECT vote, question FROM user_feedback").fetchall() == [
        ("helpful", "How do I book leave?")
    ]


def test_duplicates_within_and_across_batches_land_once(conn: duckdb.DuckDBPyConnection) -> None:
    first = append_records(conn, [feedback("a"), feedback("a"), feedback("b")])
    second = append_records(conn, [feedback("a"), feedback("c"), feedback("c")])
    assert (first.inserted, first.duplicates) == (2, 1)
    assert (second.inserted, second.duplicates) == (1, 2)
    assert count(conn, "event_log") == 3
    assert count(conn, "user_feedback") == 3


BAD_RECORDS: list[tuple[dict[str, Any], str]] = [
    ({**feedback("x1"), "kind": "mystery"}, "unknown kind 'mystery'"),
    ({k: v for k, v in feedback("x0").items() if k != "kind"}, "missing kind"),
    ({k: v for k, v in feedback("x2").items() if k != "event_id"}, "missing event_id"),
    ({**feedback("x3"), "event_id": 42}, "event_id must be a non-empty string"),
    ({k: v for k, v in feedback("x4").items() if k != "occurred_at"}, "missing occurred_at"),
    ({**feedback("x5"), "occurred_at": "2026-11-03T10:00:00"}, "has no UTC offset"),
    ({**feedback("x6"), "occurred_at": "last tuesday"}, "is not an ISO 8601 timestamp"),
    ({**feedback("x6b"), "occurred_at": "0001-01-01T00:00:00+05:00"}, "is out of range"),
    ({**feedback("x7"), "version": "1"}, "version must be a positive integer"),
    ({k: v for k, v in feedback("x8").items() if k != "vote"}, "missing field 'vote'"),
    ({**feedback("x9"), "user_id": None}, "field 'user_id' must not be null"),
    (golden("chunk_access", "x10", rank="2"), "field 'rank' must be BIGINT"),
    (golden("chunk_access", "x11", rank=True), "field 'rank' must be BIGINT"),
    (golden("bot_response", "x12", grounded="yes"), "field 'grounded' must be BOOLEAN"),
    (golden("bot_response", "x13", cited_chunk_ids="c1"), "field 'cited_chunk_ids' must be VARCHAR[]"),
    (golden("query_record", "x14", latency_ms=float("nan")), "field 'latency_ms' must be DOUBLE"),
    (golden("document_version", "x15", updated_at="yesterday"), "'yesterday' is not an ISO 8601 timestamp"),
    ({**feedback("x16"), "extra": object()}, "not storable as UTF-8 JSON"),
]


def test_bad_records_are_rejected_with_reasons_and_the_rest_stored(conn: duckdb.DuckDBPyConnection) -> None:
    good = golden("query_record", "ok", top_score=None)
    result = append_records(conn, [bad for bad, _ in BAD_RECORDS] + [good])
    assert result.inserted == 1 and result.duplicates == 0
    assert [r.record for r in result.rejected] == [bad for bad, _ in BAD_RECORDS]
    for rejected, (_, reason) in zip(result.rejected, BAD_RECORDS, strict=True):
        assert reason in rejected.reason
    assert conn.execute("SELECT event_id, top_score FROM query_records").fetchall() == [("ok", None)]
    assert count(conn, "event_log") == 1


def test_a_batch_of_only_bad_or_no_records_changes_nothing(conn: duckdb.DuckDBPyConnection) -> None:
    assert append_records(conn, []).inserted == 0
    result = append_records(conn, [{"kind": "user_feedback"}])
    assert (result.inserted, len(result.rejected)) == (0, 1)
    assert count(conn, "event_log") == 0


def test_period_of_is_the_utc_month_and_names_the_file() -> None:
    assert period_of(feedback("p", at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC))) == "2026-11"
    assert period_of({"occurred_at": "2026-11-30T20:30:00-05:00"}) == "2026-12"
    assert file_name("2026-12") == "events-2026-12.duckdb"
    with pytest.raises(InvalidEvent, match="no UTC offset"):
        period_of({"occurred_at": "2026-11-30T20:30:00"})
    for bad in ("2026-13", "../2026-11", "2026-1"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            file_name(bad)


def test_a_hundred_thousand_records_append_in_one_bulk_batch(conn: duckdb.DuckDBPyConnection) -> None:
    records = [feedback(f"fb-{n}", at=AT + timedelta(seconds=n)) for n in range(50_000)] + [
        golden(
            "query_record", f"qr-{n}", question_id=f"q{n}", query=f"question {n % 500}", latency_ms=n % 300
        )
        for n in range(50_000)
    ]
    started = time.perf_counter()
    result = append_records(conn, records)
    elapsed = time.perf_counter() - started
    print(f"\nappend_records: {len(records)} records in {elapsed:.2f} s ({len(records) / elapsed:,.0f}/s)")
    assert (result.inserted, result.duplicates, result.rejected) == (100_000, 0, ())
    assert count(conn, "event_log") == 100_000
    assert count(conn, "user_feedback") == count(conn, "query_records") == 50_000
    again = append_records(conn, records[:1000])
    assert (again.inserted, again.duplicates) == (0, 1000)
