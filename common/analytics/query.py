"""SQL over any number of monthly analytics files at once, as if they were one database.

Each file is attached read-only and every table becomes a view that stacks it across files by column name,
starting from an empty copy of the current schema: a month written before a later migration still answers
(its missing columns read as NULL), and no files at all still give empty tables. File access is switched
off once the files are attached, so a query can read the analytics and nothing else on the machine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from common.analytics.schema import TABLES, migrate
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
        conn.execute(f"ATTACH ':memory:' AS {_TEMPLATE}")
        conn.execute(f"USE {_TEMPLATE}")
        migrate(conn)
        conn.execute("USE memory")
        catalogs = [_attach(conn, index, path) for index, path in enumerate(paths)]
        present = set(conn.execute("SELECT database_name, table_name FROM duckdb_tables()").fetchall())
        for table in TABLES:
            sources = [_TEMPLATE, *(catalog for catalog in catalogs if (catalog, table) in present)]
            union = " UNION ALL BY NAME ".join(f"SELECT * FROM {source}.main.{table}" for source in sources)
            conn.execute(f"CREATE TEMP VIEW {table} AS {union}")
        conn.execute("SET enable_external_access = false")
        conn.execute("SET lock_configuration = true")
        yield conn


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
