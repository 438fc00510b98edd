"""Where the document workflow keeps its state: one small DuckDB database, `workflow/kb.duckdb`.

Shared by every instance through `common.infra.shared_duckdb` (compare-and-swap on the file), so two
instances can never both apply one transition, and no external store is needed.

The tables are the plan's `Document`, `DocumentVersion` and `AreaApprover`, plus the decisions and when
each approver was last asked to decide (so a request Slack refused is sent again).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from common.documents.model import Area, Decision, DecisionKind, DocType, Document, DocumentVersion, Status
from common.infra.shared_duckdb import Connection, SharedDuckDB
from common.infra.versioned_files import VersionedFiles
from common.store.chunk import Classification

T = TypeVar("T")
FILE_NAME = "kb.duckdb"


def m001_create_workflow_tables(conn: Connection) -> None:
    conn.execute("""
        CREATE TABLE areas (
            name VARCHAR PRIMARY KEY, space_key VARCHAR NOT NULL, parent_page_id VARCHAR NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL);
        CREATE TABLE area_approvers (
            area VARCHAR NOT NULL, approver VARCHAR NOT NULL, PRIMARY KEY (area, approver));
        CREATE TABLE documents (
            id VARCHAR PRIMARY KEY, title VARCHAR NOT NULL, area VARCHAR NOT NULL, doc_type VARCHAR NOT NULL,
            classification VARCHAR NOT NULL, owner VARCHAR NOT NULL, author VARCHAR NOT NULL,
            status VARCHAR NOT NULL, version INTEGER NOT NULL, created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL, source_link VARCHAR NOT NULL, published_version INTEGER NOT NULL,
            page_id VARCHAR NOT NULL, page_url VARCHAR NOT NULL, publish_error VARCHAR NOT NULL);
        CREATE TABLE document_versions (
            document_id VARCHAR NOT NULL, number INTEGER NOT NULL, title VARCHAR NOT NULL,
            body VARCHAR NOT NULL, body_hash VARCHAR NOT NULL, editor VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            change_note VARCHAR NOT NULL, PRIMARY KEY (document_id, number));
        CREATE TABLE decisions (
            document_id VARCHAR NOT NULL, version INTEGER NOT NULL, approver VARCHAR NOT NULL,
            kind VARCHAR NOT NULL, reason VARCHAR NOT NULL, decided_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (document_id, version, approver));
        CREATE TABLE asks (
            document_id VARCHAR NOT NULL, version INTEGER NOT NULL, approver VARCHAR NOT NULL,
            asked_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (document_id, version, approver));
    """)


MIGRATIONS = (m001_create_workflow_tables,)


class WorkflowStore:
    def __init__(self, files: VersionedFiles) -> None:
        self._db = SharedDuckDB(files, FILE_NAME, MIGRATIONS, what="the document workflow")

    def change(self, transition: Callable[[Connection], T]) -> T:
        return self._db.change(transition)

    def read(self, query: Callable[[Connection], T]) -> T:
        return self._db.read(query)


# --- rows ---------------------------------------------------------------------------------------------

_DOCUMENT_COLUMNS = (
    "id, title, area, doc_type, classification, owner, author, status, version, created_at, updated_at, "
    "source_link, published_version, page_id, page_url, publish_error"
)


def document(conn: Connection, document_id: str) -> Document | None:
    row = conn.execute(f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE id = ?", [document_id]).fetchone()
    return _document(row) if row else None


def documents(conn: Connection, *, status: Status | None = None) -> list[Document]:
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    rows = conn.execute(f"SELECT {_DOCUMENT_COLUMNS} FROM documents {where} ORDER BY updated_at, id", params)
    return [_document(row) for row in rows.fetchall()]


def save_document(conn: Connection, doc: Document) -> None:
    conn.execute(
        f"INSERT OR REPLACE INTO documents ({_DOCUMENT_COLUMNS}) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            doc.id, doc.title, doc.area, doc.doc_type, doc.classification, doc.owner, doc.author, doc.status,
            doc.version, doc.created_at, doc.updated_at, doc.source_link, doc.published_version, doc.page_id,
            doc.page_url, doc.publish_error,
        ],
    )  # fmt: skip


def versions(conn: Connection, document_id: str) -> list[DocumentVersion]:
    rows = conn.execute(
        "SELECT document_id, number, title, body, body_hash, editor, created_at, change_note"
        " FROM document_versions WHERE document_id = ? ORDER BY number",
        [document_id],
    ).fetchall()
    return [
        DocumentVersion(
            document_id=row[0],
            number=row[1],
            title=row[2],
            body=row[3],
            body_hash=row[4],
            editor=row[5],
            created_at=_utc(row[6]),
            change_note=row[7],
        )
        for row in rows
    ]


def add_version(conn: Connection, version: DocumentVersion) -> None:
    conn.execute(
        "INSERT INTO document_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            version.document_id, version.number, version.title, version.body, version.body_hash,
            version.editor, version.created_at, version.change_note,
        ],
    )  # fmt: skip


def decisions(conn: Connection, document_id: str, *, version: int | None = None) -> list[Decision]:
    where, params = ("AND version = ?", [document_id, version]) if version else ("", [document_id])
    rows = conn.execute(
        "SELECT document_id, version, approver, kind, reason, decided_at FROM decisions"
        f" WHERE document_id = ? {where} ORDER BY decided_at",
        params,
    ).fetchall()
    return [
        Decision(row[0], row[1], row[2], cast(DecisionKind, row[3]), row[4], _utc(row[5])) for row in rows
    ]


def add_decision(conn: Connection, decision: Decision) -> None:
    conn.execute(
        "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?)",
        [
            decision.document_id, decision.version, decision.approver, decision.kind, decision.reason,
            decision.decided_at,
        ],
    )  # fmt: skip


def area(conn: Connection, name: str) -> Area | None:
    row = conn.execute("SELECT name, space_key, parent_page_id FROM areas WHERE name = ?", [name]).fetchone()
    if row is None:
        return None
    approvers = conn.execute(
        "SELECT approver FROM area_approvers WHERE area = ? ORDER BY approver", [name]
    ).fetchall()
    return Area(
        name=row[0], space_key=row[1], parent_page_id=row[2], approvers=tuple(a for (a,) in approvers)
    )


def areas(conn: Connection) -> list[Area]:
    names = [name for (name,) in conn.execute("SELECT name FROM areas ORDER BY name").fetchall()]
    return [found for name in names if (found := area(conn, name)) is not None]


def save_area(conn: Connection, found: Area, *, at: datetime) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO areas VALUES (?, ?, ?, ?)",
        [found.name, found.space_key, found.parent_page_id, at],
    )
    conn.execute("DELETE FROM area_approvers WHERE area = ?", [found.name])
    for approver in found.approvers:
        conn.execute("INSERT INTO area_approvers VALUES (?, ?)", [found.name, approver])


def last_asked(conn: Connection, document_id: str, version: int, approver: str) -> datetime | None:
    """When Slack last took the request (or a reminder) to decide on this version; None: never yet."""
    row = conn.execute(
        "SELECT asked_at FROM asks WHERE document_id = ? AND version = ? AND approver = ?",
        [document_id, version, approver],
    ).fetchone()
    return _utc(row[0]) if row else None


def record_ask(conn: Connection, document_id: str, version: int, approver: str, *, at: datetime) -> None:
    conn.execute("INSERT OR REPLACE INTO asks VALUES (?, ?, ?, ?)", [document_id, version, approver, at])


def _document(row: tuple[Any, ...]) -> Document:
    return Document(
        id=row[0],
        title=row[1],
        area=row[2],
        doc_type=cast(DocType, row[3]),
        classification=cast(Classification, row[4]),
        owner=row[5],
        author=row[6],
        status=cast(Status, row[7]),
        version=row[8],
        created_at=_utc(row[9]),
        updated_at=_utc(row[10]),
        source_link=row[11],
        published_version=row[12],
        page_id=row[13],
        page_url=row[14],
        publish_error=row[15],
    )


def _utc(value: Any) -> datetime:
    moment = cast(datetime, value)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
