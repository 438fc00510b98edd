"""SQL over any number of analytics files at once (every part of every month), as if they were one database.

Each file is attached read-only and every table becomes a view that stacks it across files by column name,
starting from an empty copy of the current schema: a file written before a later migration still answers
(its missing columns read as NULL), and no files at all still give empty tables. Within a month an event
can be in several files (redelivered into two parts, or merged and not yet removed,
`common.analytics.period_files`), so a month of several files is read with each `event_id` once; a month of
one file, which compaction makes the usual case, is read as it is. File access is switched off once the
files are attached, so a query can read the analytics and nothing else on the machine.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from common.analytics.period_files import part_of
from common.analytics.schema import EVENT_LOG, TABLES, migrate
from common.errors import AnalyticsQueryError

_TEMPLATE = "_schema"


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def query(paths: Sequence[Path], sql: str, parameters: Sequence[Any] = ()) -> QueryResult:
    with period_views(paths) as conn:
        return run(conn, sql, parameters)


@contextmanager
def period_views(paths: Sequence[Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection whose tables span all `paths`, for callers that ask several questions of them."""
    with duckdb.connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        stack_files(conn, paths)
        conn.execute("SET enable_external_access = false")
        conn.execute("SET lock_configuration = true")
        yield conn


def stack_files(conn: duckdb.DuckDBPyConnection, paths: Sequence[Path]) -> list[str]:
    """Attach `paths` read-only to `conn` and create one temporary view per table over all of them, each
    event once (compaction writes its merge from these views too); returns the files' catalog names."""
    conn.execute(f"ATTACH ':memory:' AS {_TEMPLATE}")
    conn.execute(f"USE {_TEMPLATE}")
    migrate(conn)
    conn.execute("USE memory")
    catalogs = [_attach(conn, index, path) for index, path in enumerate(paths)]
    months: dict[str | None, list[str]] = defaultdict(list)
    for path, catalog in zip(paths, catalogs, strict=True):
        part = part_of(path.name)
        months[part.period if part else None].append(catalog)
    present = set(conn.execute("SELECT database_name, table_name FROM duckdb_tables()").fetchall())
    for table in TABLES:
        selects = [f"SELECT * FROM {_TEMPLATE}.main.{table}"]
        for month in months.values():
            selects += _once_each([catalog for catalog in month if (catalog, table) in present], table)
        conn.execute(f"CREATE TEMP VIEW {table} AS {' UNION ALL BY NAME '.join(selects)}")
    return catalogs


def _once_each(catalogs: list[str], table: str) -> list[str]:
    """`table` of one month's files, each event once (a name not telling its month counts as one month).
    Copies of an event agree on every typed column; of its `event_log` rows the one with a payload is kept,
    which an event stored before payloads lost their typed fields has (`common.analytics.schema`)."""
    if len(catalogs) < 2:
        return [f"SELECT * FROM {catalog}.main.{table}" for catalog in catalogs]
    union = " UNION ALL BY NAME ".join(f"SELECT * FROM {catalog}.main.{table}" for catalog in catalogs)
    fullest = " ORDER BY payload IS NULL" if table == EVENT_LOG else ""
    return [f"SELECT * FROM ({union}) QUALIFY row_number() OVER (PARTITION BY event_id{fullest}) = 1"]


def run(conn: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[Any] = ()) -> QueryResult:
    try:
        cursor = conn.execute(sql, list(parameters))
        rows = cursor.fetchall()
    except duckdb.Error as exc:
        raise AnalyticsQueryError(
            f"Analytics query failed: {exc}\nFix the SQL and retry; the tables are: {', '.join(TABLES)}."
        ) from exc
    columns = [column[0] for column in cursor.description or ()]
    return QueryResult(columns=columns, rows=rows)


def _attach(conn: duckdb.DuckDBPyConnection, index: int, path: Path) -> str:
    catalog = f"_period_{index}"
    try:
        conn.execute(f"ATTACH ? AS {catalog} (READ_ONLY)", [str(path)])
    except duckdb.Error as exc:
        raise AnalyticsQueryError(
            f"Cannot open analytics file {path}: {exc}\nCheck that the path names a DuckDB file written by"
            " the analytics ingest job."
        ) from exc
    return catalog
