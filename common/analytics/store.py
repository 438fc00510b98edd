"""Appending event records to a DuckDB analytics file (a month's part, `common.analytics.period_files`),
each event once.

A batch is validated in Python first, so a bad record is returned with its reason (the ingest job
dead-letters it) instead of failing the batch. The good ones are staged in one bulk `unnest` of six lists
(DuckDB inserts ~100k rows/s that way against ~800 rows/s with `executemany`), and every typed table is then
filled from the staged JSON fields by SQL, all in one transaction, so a crash leaves a batch wholly in or
wholly out. An event already in the file, or twice in the batch, is counted as a duplicate; one already in
another part of the month is the readers' and the compaction's to drop (`common.analytics.query`).
`event_log.payload` keeps only what no typed column holds (`common.analytics.schema`).
"""

from __future__ import annotations

import json
import math
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from common.analytics.schema import EVENT_LOG, KINDS, TYPED_TABLES, migrate
from common.errors import InvalidEvent

_ENVELOPE = frozenset({"kind", "version", "event_id", "occurred_at"})
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_INT64 = range(-(2**63), 2**63)
_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True, slots=True)
class Rejected:
    record: Mapping[str, Any]
    reason: str


@dataclass(frozen=True, slots=True)
class AppendResult:
    inserted: int
    duplicates: int
    rejected: tuple[Rejected, ...]


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    type: str
    nullable: bool


@dataclass(frozen=True, slots=True)
class _Staged:
    event_id: str
    kind: str
    version: int
    occurred_at: str
    fields: str | None
    """Every field as JSON, for filling the kind's typed table; None for a kind without one."""
    payload: str | None
    """The fields no typed column holds, as JSON, for `event_log`; None when there are none."""


BLOCK_SIZE = 65_536
"""A quarter of DuckDB's default: an empty file is 78 kB instead of 800 kB (many parts are small) and, with
less of each last block unused, a month's compacted file is about a tenth smaller (measured)."""


def open_store(path: Path) -> duckdb.DuckDBPyConnection:
    """The file at `path`, migrated; a new file is created with `BLOCK_SIZE` blocks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path), config={"default_block_size": str(BLOCK_SIZE)})
    try:
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def new_store(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A new, empty, migrated file at `path` (which must not exist), copied from one made once per process
    (migrating a new file takes ~0.1 s, as long as storing a batch of 3,000 events), and attached to the
    process's one DuckDB instance for the block: starting an instance per file took 25 ms, attaching 2 ms
    (measured). Saved and detached when the block ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") as new:
        new.write(_empty_store())
    alias = f"part_{uuid.uuid4().hex}"
    quoted = str(path).replace("'", "''")
    with _shared_instance().cursor() as conn:
        conn.execute(f"ATTACH '{quoted}' AS {alias}")
        try:
            conn.execute(f"USE {alias}")
            yield conn
        finally:
            conn.execute("USE memory")
            conn.execute(f"DETACH {alias}")


@cache
def _shared_instance() -> duckdb.DuckDBPyConnection:
    """Only for attaching files: each thread works on a cursor of its own (a connection of the instance)."""
    return duckdb.connect()


@cache
def _empty_store() -> bytes:
    with tempfile.TemporaryDirectory(prefix="kb-analytics-schema-") as scratch:
        path = Path(scratch) / "empty.duckdb"
        open_store(path).close()
        return path.read_bytes()


def file_name(period: str) -> str:
    if not _PERIOD.fullmatch(period):
        raise ValueError(f"Analytics period {period!r} is not YYYY-MM; derive it with period_of(record)")
    return f"events-{period}.duckdb"


def period_of(record: Mapping[str, Any]) -> str:
    """The UTC month a record belongs to; ValueError (with the reason to dead-letter it) if it has none."""
    return _timestamp(record.get("occurred_at"), "occurred_at").strftime("%Y-%m")


def append_records(conn: duckdb.DuckDBPyConnection, records: Sequence[Mapping[str, Any]]) -> AppendResult:
    """Never raises for a record; a duckdb.Error means the file failed, and none of the batch was kept."""
    columns = _typed_columns(conn)
    staged: dict[str, _Staged] = {}
    rejected: list[Rejected] = []
    repeated = 0
    for record in records:
        try:
            row = _stage(record, columns)
        except InvalidEvent as exc:
            rejected.append(Rejected(record, str(exc)))
            continue
        if row.event_id in staged:
            repeated += 1
        else:
            staged[row.event_id] = row
    if not staged:
        return AppendResult(inserted=0, duplicates=repeated, rejected=tuple(rejected))
    conn.execute("BEGIN TRANSACTION")
    try:
        already = _insert(conn, list(staged.values()), columns)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return AppendResult(
        inserted=len(staged) - already, duplicates=repeated + already, rejected=tuple(rejected)
    )


def _insert(
    conn: duckdb.DuckDBPyConnection, rows: list[_Staged], columns: Mapping[str, list[_Column]]
) -> int:
    """Stage the rows, drop those already stored, and fill every table; returns how many were dropped."""
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE _incoming AS SELECT unnest($1) AS event_id,"
        " unnest($2)::TIMESTAMPTZ AS occurred_at, unnest($3) AS kind, unnest($4)::INTEGER AS version,"
        " unnest($5)::JSON AS fields, unnest($6)::JSON AS payload",
        [
            [row.event_id for row in rows],
            [row.occurred_at for row in rows],
            [row.kind for row in rows],
            [row.version for row in rows],
            [row.fields for row in rows],
            [row.payload for row in rows],
        ],
    )
    already = conn.execute(
        f"DELETE FROM _incoming WHERE event_id IN (SELECT event_id FROM {EVENT_LOG})"
    ).fetchall()[0][0]
    conn.execute(
        f"INSERT INTO {EVENT_LOG} BY NAME SELECT event_id, occurred_at, kind, version, payload FROM _incoming"
    )
    for kind in sorted({row.kind for row in rows}):
        table = KINDS[kind].table
        if table is None:
            continue
        names = ", ".join(f'"{column.name}"' for column in columns[table])
        values = ", ".join(_extract(column) for column in columns[table])
        conn.execute(
            f"INSERT INTO {table} (event_id, occurred_at, {names})"
            f" SELECT event_id, occurred_at, {values} FROM _incoming WHERE kind = ?",
            [kind],
        )
    conn.execute("DROP TABLE _incoming")
    return int(already)


def _extract(column: _Column) -> str:
    if column.type == "VARCHAR":
        return f"fields->>'{column.name}'"
    if column.type == "TIMESTAMP WITH TIME ZONE":
        return f"CAST(fields->>'{column.name}' AS TIMESTAMPTZ)"
    return f"CAST(fields->'{column.name}' AS {column.type})"


def _typed_columns(conn: duckdb.DuckDBPyConnection) -> dict[str, list[_Column]]:
    """The typed tables' columns as this file has them: the migrations are their one definition."""
    rows = conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable = 'YES' FROM information_schema.columns"
        " WHERE table_catalog = current_database() AND table_schema = 'main'"
        " AND column_name NOT IN ('event_id', 'occurred_at') ORDER BY table_name, ordinal_position"
    ).fetchall()
    columns: dict[str, list[_Column]] = {table: [] for table in TYPED_TABLES}
    for table, name, type_, nullable in rows:
        if table in columns:
            columns[table].append(_Column(name, type_, nullable))
    return columns


def _stage(record: Mapping[str, Any], columns: Mapping[str, list[_Column]]) -> _Staged:
    kind = record.get("kind")
    if kind is None:
        raise InvalidEvent("missing kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise InvalidEvent(f"unknown kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")
    event_id = record.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidEvent("missing event_id" if event_id is None else "event_id must be a non-empty string")
    version = record.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version < 2**31:
        raise InvalidEvent(f"version must be a positive integer, got {version!r}")
    occurred_at = _timestamp(record.get("occurred_at"), "occurred_at").isoformat()
    spec = KINDS[kind]
    excluded = _ENVELOPE | spec.dropped
    fields = {key: value for key, value in record.items() if key not in excluded}
    typed = columns[spec.table] if spec.table else ()
    for column in typed:
        if column.name not in fields and column.nullable:
            fields[column.name] = None  # a column added after the event was sent (a buffered, older event)
        elif column.name not in fields:
            raise InvalidEvent(f"missing field {column.name!r} for kind {kind!r}")
        fields[column.name] = _checked(fields[column.name], column)
    names = {column.name for column in typed}
    extra = {key: value for key, value in fields.items() if key not in names}
    return _Staged(
        event_id,
        kind,
        version,
        occurred_at,
        fields=_storable_json(event_id, fields) if typed else None,
        payload=_storable_json(event_id, extra) if extra else None,
    )


def _storable_json(event_id: str, fields: Mapping[str, Any]) -> str:
    try:
        text = _JSON.encode(fields)
        (event_id + text).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(f"fields are not storable as UTF-8 JSON: {exc}") from None
    return text


def _checked(value: Any, column: _Column) -> Any:
    """The value as it will be stored (timestamps normalised to UTC), or InvalidEvent saying why not."""
    if value is None:
        if column.nullable:
            return None
        raise InvalidEvent(f"field {column.name!r} must not be null")
    if column.type == "TIMESTAMP WITH TIME ZONE":
        return _timestamp(value, column.name).isoformat()
    if not _CHECKS[column.type](value):
        raise InvalidEvent(
            f"field {column.name!r} must be {column.type}, got {type(value).__name__} {value!r:.80}"
        )
    return value


def _timestamp(value: Any, name: str) -> datetime:
    if value is None:
        raise InvalidEvent(f"missing {name}")
    if not isinstance(value, str):
        raise InvalidEvent(f"{name} must be an ISO 8601 string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidEvent(f"{name} {value!r:.80} is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        raise InvalidEvent(f"{name} {value!r:.80} has no UTC offset; send it as UTC, e.g. ending in +00:00")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise InvalidEvent(f"{name} {value!r:.80} is out of range") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in _INT64


_CHECKS: dict[str, Callable[[Any], bool]] = {
    "VARCHAR": lambda value: isinstance(value, str),
    "BIGINT": _is_int,
    "DOUBLE": lambda value: _is_int(value) or (isinstance(value, float) and math.isfinite(value)),
    "BOOLEAN": lambda value: isinstance(value, bool),
    "VARCHAR[]": lambda value: isinstance(value, list) and all(isinstance(item, str) for item in value),
}
