"""The DuckDB schema of the analytics files, as numbered migrations, and which event kind fills which table.

Every event lands raw in `event_log`; a kind that has a typed table is also written there, one column per
field of the same name, so reports can be plain SQL. The `CREATE TABLE` statements below are the contract
for producers: a record of kind K carries `kind`, `version`, `event_id`, `occurred_at` (ISO 8601 with a UTC
offset) and every column of K's table (NOT NULL columns must not be null). `event_log.payload` holds the
fields no typed column holds (every field, for a kind without a table; NULL when nothing is left over), so
no value is stored twice; events stored before that rule carry their whole payload there. Kinds without an
event class in `common.events.model` yet:

- `query_record`: one search. `results` counts the hits, `top_score` is the best retrieval score (NULL
  without hits), `source` is where it ran (`slack`, `search_api`, `cli`).
- `bot_response`: one answer. `grounded` is false when the writer found nothing to cite (a no-answer);
  `used_restricted` says whether a restricted page was among its passages.
- `quality_report`: an aggregate snapshot, never naming a chunk: `report` `decay` is of chunk quality
  (count, mean, percentiles, overdue, below the alert threshold, verified), `evaluation` of the nightly
  judged answers (groundedness, relevance, completeness, golden hit@3, and the `alerts` it raised).
- `document`: one row per workflow transition of a document (`common.documents`), with its status after.
- `document_version`: the document's version number is `page_version`, because `version` is the event's
  own schema version.
- `area_approver`: an approver added to or removed from an area.
- `eval_result`: one evaluation (a BEIR mode, a golden-questions run, or one judged answer of the
  nightly evaluation, `question_id` set); metrics that do not apply are NULL.
- `user_confluence_link`: a Slack user linked to a Confluence account (`method` email, oauth or pat) or
  unlinked (`action`); the email column stays empty, analytics keeps no addresses.

No table holds a chunk's quality score: Chroma is its only home (plan phase 4), so the score fields of
`user_feedback` events are dropped before anything is stored.

Migrations run through `common.infra.duckdb_migrations`: forward only; never edit a released one, add the
next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import duckdb

from common.infra.duckdb_migrations import Migration
from common.infra.duckdb_migrations import migrate as apply_migrations


@dataclass(frozen=True, slots=True)
class Kind:
    table: str | None
    """The typed table the kind also fills; None when it lives in `event_log` only."""
    dropped: frozenset[str] = frozenset()
    """Fields never stored anywhere, not even in `event_log.payload`."""


KINDS: Mapping[str, Kind] = {
    "user_feedback": Kind("user_feedback", dropped=frozenset({"quality_before", "quality_after"})),
    "behavioural_signal": Kind("behavioral_signals"),
    "chunk_access": Kind("chunk_access_log"),
    "eval_result": Kind("eval_results"),
    "query_record": Kind("query_records"),
    "bot_response": Kind("bot_responses"),
    "quality_report": Kind("quality_reports"),
    "document": Kind("documents"),
    "document_version": Kind("document_versions"),
    "area_approver": Kind("area_approvers"),
    "user_confluence_link": Kind("user_confluence_links"),
    "owner_notified": Kind(None),
    "owner_unreachable": Kind(None),
    "page_reviewed": Kind(None),
    "page_escalation": Kind(None),
}

EVENT_LOG = "event_log"
TYPED_TABLES: tuple[str, ...] = tuple(kind.table for kind in KINDS.values() if kind.table is not None)
TABLES: tuple[str, ...] = (EVENT_LOG, *TYPED_TABLES)


def m001_create_event_log(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(
        f"CREATE TABLE {EVENT_LOG} (event_id VARCHAR PRIMARY KEY, occurred_at TIMESTAMPTZ NOT NULL,"
        " kind VARCHAR NOT NULL, version INTEGER NOT NULL, payload JSON)"
    )


def m002_create_analytics_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("""
        CREATE TABLE user_feedback (
            event_id VARCHAR PRIMARY KEY, occurred_at TIMESTAMPTZ NOT NULL,
            vote_id VARCHAR NOT NULL, chunk_id VARCHAR NOT NULL, page_id VARCHAR NOT NULL,
            answer_id VARCHAR NOT NULL, user_id VARCHAR NOT NULL, vote VARCHAR NOT NULL,
            comment VARCHAR NOT NULL, question VARCHAR NOT NULL);
        CREATE TABLE behavioral_signals (
            event_id VARCHAR PRIMARY KEY, occurred_at TIMESTAMPTZ NOT NULL,
            signal VARCHAR NOT NULL, answer_id VARCHAR NOT NULL, user_id VARCHAR NOT NULL,
            detail VARCHAR NOT NULL);
        CREATE TABLE chunk_access_log (
            event_id VARCHAR PRIMARY KEY, occurred_at TIMESTAMPTZ NOT NULL,
            chunk_id VARCHAR NOT NULL, page_id VARCHAR NOT NULL, query_id VARCHAR NOT NULL,
            rank BIGINT NOT NULL, source VARCHAR NOT NULL);
        CREATE TABLE eval_results (
            event_id VARCHAR PRIMARY KEY, occurred_at TIMESTAMPTZ NOT NULL,
            run_id VARCHAR NOT NULL, dataset VARCHAR NOT NULL, qrels VARCHAR NOT NULL, mode VARCHAR NOT NULL,
            ndcg_at_10 DOUBLE NOT NULL, recall_at_100 DOUBLE NOT NULL, mrr_at_10 DOUBLE NOT NULL,
            queries BIGINT NOT NULL);
        CREATE TABLE query_records (
            event_id VARCHAR PRIMARY KEY, occurred_at TIMESTAMPTZ NOT NULL,
            question_id VARCHAR NOT NULL, user_id VARCHAR NOT NULL, channel_type VARCHAR NOT NULL,
            query VARCHAR NOT NULL, results BIGINT NOT NULL, top_score DOUBLE,
            latency_ms DOUBLE NOT NULL, source VARCHAR NOT NULL);
        CREATE TABLE bot_responses (
            event_id VARCHAR PRIMARY KEY, occurred_at TIMESTAMPTZ NOT NULL,
            answer_id VARCHAR NOT NULL, question_id VARCHAR NOT NULL, writer VARCHAR NOT NULL,
            grounded BOOLEAN NOT NULL, cited_chunk_ids VARCHAR[] NOT NULL, latency_ms DOUBLE NOT NULL);
        CREATE TABLE quality_reports (
            event_id VARCHAR PRIMARY KEY, occurred_at TIMESTAMPTZ NOT NULL,
            chunks BIGINT NOT NULL, mean DOUBLE, p10 DOUBLE, p50 DOUBLE, p90 DOUBLE,
            overdue BIGINT NOT NULL, below_threshold BIGINT NOT NULL, verified BIGINT NOT NULL);
        CREATE TABLE documents (
            event_id VARCHAR PRIMARY KEY, occurred_at TIMESTAMPTZ NOT NULL,
            page_id VARCHAR NOT NULL, space_key VARCHAR NOT NULL, title VARCHAR NOT NULL,
            url VARCHAR NOT NULL, owner VARCHAR NOT NULL);
        CREATE TABLE document_versions (
            event_id VARCHAR PRIMARY KEY, occurred_at TIMESTAMPTZ NOT NULL,
            page_id VARCHAR NOT NULL, page_version BIGINT NOT NULL, updated_at TIMESTAMPTZ NOT NULL);
        CREATE TABLE area_approvers (
            event_id VARCHAR PRIMARY KEY, occurred_at TIMESTAMPTZ NOT NULL,
            space_key VARCHAR NOT NULL, approver VARCHAR NOT NULL);
        CREATE TABLE user_confluence_links (
            event_id VARCHAR PRIMARY KEY, occurred_at TIMESTAMPTZ NOT NULL,
            slack_user_id VARCHAR NOT NULL, confluence_account_id VARCHAR NOT NULL, email VARCHAR NOT NULL);
    """)


def m003_document_workflow_columns(conn: duckdb.DuckDBPyConnection) -> None:
    """The document workflow's events carry more than the plan's first tables had room for."""
    conn.execute("""
        ALTER TABLE documents ADD COLUMN document_id VARCHAR;
        ALTER TABLE documents ADD COLUMN transition VARCHAR;
        ALTER TABLE documents ADD COLUMN actor VARCHAR;
        ALTER TABLE documents ADD COLUMN status VARCHAR;
        ALTER TABLE documents ADD COLUMN area VARCHAR;
        ALTER TABLE documents ADD COLUMN doc_type VARCHAR;
        ALTER TABLE documents ADD COLUMN classification VARCHAR;
        ALTER TABLE documents ADD COLUMN document_version BIGINT;
        ALTER TABLE document_versions ADD COLUMN document_id VARCHAR;
        ALTER TABLE document_versions ADD COLUMN body_hash VARCHAR;
        ALTER TABLE document_versions ADD COLUMN editor VARCHAR;
        ALTER TABLE document_versions ADD COLUMN change_note VARCHAR;
        ALTER TABLE area_approvers ADD COLUMN area VARCHAR;
        ALTER TABLE area_approvers ADD COLUMN action VARCHAR;
    """)


def m004_permission_columns(conn: duckdb.DuckDBPyConnection) -> None:
    """Permission-aware answers: how a link was made or removed, and whether an answer used restricted
    content (never which)."""
    conn.execute("""
        ALTER TABLE user_confluence_links ADD COLUMN method VARCHAR;
        ALTER TABLE user_confluence_links ADD COLUMN action VARCHAR;
        ALTER TABLE bot_responses ADD COLUMN used_restricted BOOLEAN;
    """)


def m005_learning_loop_columns(conn: duckdb.DuckDBPyConnection) -> None:
    """The learning loop: signals name the chunks their answer cited, evaluations are of several kinds
    (BEIR modes, golden questions, judged answers) and quality reports cover answers as well as chunks."""
    conn.execute("""
        ALTER TABLE behavioral_signals ADD COLUMN chunk_ids VARCHAR[];
        ALTER TABLE eval_results ALTER COLUMN ndcg_at_10 DROP NOT NULL;
        ALTER TABLE eval_results ALTER COLUMN recall_at_100 DROP NOT NULL;
        ALTER TABLE eval_results ALTER COLUMN mrr_at_10 DROP NOT NULL;
        ALTER TABLE eval_results ADD COLUMN hit_at_1 DOUBLE;
        ALTER TABLE eval_results ADD COLUMN hit_at_3 DOUBLE;
        ALTER TABLE eval_results ADD COLUMN hit_at_5 DOUBLE;
        ALTER TABLE eval_results ADD COLUMN mrr_at_5 DOUBLE;
        ALTER TABLE eval_results ADD COLUMN cited DOUBLE;
        ALTER TABLE eval_results ADD COLUMN declined DOUBLE;
        ALTER TABLE eval_results ADD COLUMN question_id VARCHAR;
        ALTER TABLE eval_results ADD COLUMN groundedness DOUBLE;
        ALTER TABLE eval_results ADD COLUMN relevance DOUBLE;
        ALTER TABLE eval_results ADD COLUMN completeness DOUBLE;
        ALTER TABLE eval_results ADD COLUMN judge VARCHAR;
        ALTER TABLE quality_reports ADD COLUMN report VARCHAR;
        ALTER TABLE quality_reports ADD COLUMN answers_evaluated BIGINT;
        ALTER TABLE quality_reports ADD COLUMN groundedness DOUBLE;
        ALTER TABLE quality_reports ADD COLUMN relevance DOUBLE;
        ALTER TABLE quality_reports ADD COLUMN completeness DOUBLE;
        ALTER TABLE quality_reports ADD COLUMN golden_hit_at_3 DOUBLE;
        ALTER TABLE quality_reports ADD COLUMN alerts VARCHAR[];
    """)


_TABLES_AT_M006 = (
    "event_log", "user_feedback", "behavioral_signals", "chunk_access_log", "eval_results", "query_records",
    "bot_responses", "quality_reports", "documents", "document_versions", "area_approvers",
    "user_confluence_links",
)  # fmt: skip
"""Named here, not taken from TABLES: a migration must do what it did when a later one adds a table."""


def m006_event_ids_without_index(conn: duckdb.DuckDBPyConnection) -> None:
    """Every table again, with the same columns and NOT NULLs but no PRIMARY KEY: events now land in part
    files that are each written whole, so no file can check uniqueness across the month anyway (readers and
    compaction drop repeated `event_id`s, `common.analytics.query`), and the key's index was over half of a
    file's size. DuckDB cannot drop a constraint, hence the copy."""
    for table in _TABLES_AT_M006:
        columns = conn.execute(
            "SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns"
            " WHERE table_catalog = current_database() AND table_schema = 'main' AND table_name = ?"
            " ORDER BY ordinal_position",
            [table],
        ).fetchall()
        definition = ", ".join(
            f'"{name}" {type_}{"" if nullable else " NOT NULL"}' for name, type_, nullable in columns
        )
        conn.execute(f"CREATE TABLE {table}__rebuilt ({definition})")
        conn.execute(f"INSERT INTO {table}__rebuilt SELECT * FROM {table}")
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f"ALTER TABLE {table}__rebuilt RENAME TO {table}")


MIGRATIONS: tuple[Migration, ...] = (
    m001_create_event_log,
    m002_create_analytics_tables,
    m003_document_workflow_columns,
    m004_permission_columns,
    m005_learning_loop_columns,
    m006_event_ids_without_index,
)
"""In order: a migration's version is its position, counting from 1."""


def migrate(conn: duckdb.DuckDBPyConnection) -> list[int]:
    """Bring the connection's current database up to date; returns the versions it applied."""
    return apply_migrations(conn, MIGRATIONS)
