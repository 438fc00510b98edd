"""Numbered schema migrations for the product's DuckDB files (analytics, the document workflow).

Files are only ever migrated forward, each migration in its own transaction; `_migrations` records which
ran. A migration's version is its position in the list, counting from 1: never edit or reorder a released
one, add the next.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import duckdb

Migration = Callable[[duckdb.DuckDBPyConnection], None]


def migrate(conn: duckdb.DuckDBPyConnection, migrations: Sequence[Migration]) -> list[int]:
    """Bring the connection's current database up to date; returns the versions it applied."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations"
        " (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT version FROM _migrations").fetchall()}
    applied = []
    for version, migration in enumerate(migrations, start=1):
        if version in done:
            continue
        conn.execute("BEGIN TRANSACTION")
        try:
            migration(conn)
            conn.execute("INSERT INTO _migrations VALUES (?, ?, now())", [version, migration.__name__])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.append(version)
    return applied
