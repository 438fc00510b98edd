"""The plan's `UserConfluenceLink`: which Confluence account a Slack user is, how we know, and since when.

Kept in one small shared DuckDB file, `identity/links.duckdb` (`common.infra.shared_duckdb`), beside the
two other things linking needs to remember: who unlinked (so matching by email does not link them again
behind their back) and which OAuth states were spent (so a state works once). Tokens are stored only
encrypted (`common.permissions.token_cipher`); this module never sees them in the clear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from common.infra.shared_duckdb import Connection, SharedDuckDB
from common.infra.versioned_files import VersionedFiles

FILE_NAME = "links.duckdb"
LinkMethod = Literal["email", "oauth", "pat"]


class UserConfluenceLink(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    slack_user_id: str
    account_id: str
    method: LinkMethod
    linked_at: AwareDatetime
    last_used_at: AwareDatetime
    token: str = ""
    """Encrypted access and refresh tokens (OAuth) or the personal access token (PAT); empty for email."""
    token_expires_at: AwareDatetime | None = None
    """When the OAuth access token lapses and must be refreshed before it is trusted again."""


def m001_create_link_tables(conn: Connection) -> None:
    conn.execute("""
        CREATE TABLE links (
            slack_user_id VARCHAR PRIMARY KEY, account_id VARCHAR NOT NULL, method VARCHAR NOT NULL,
            linked_at TIMESTAMPTZ NOT NULL, last_used_at TIMESTAMPTZ NOT NULL, token VARCHAR NOT NULL,
            token_expires_at TIMESTAMPTZ);
        CREATE TABLE opt_outs (slack_user_id VARCHAR PRIMARY KEY, opted_out_at TIMESTAMPTZ NOT NULL);
        CREATE TABLE spent_states (nonce VARCHAR PRIMARY KEY, spent_at TIMESTAMPTZ NOT NULL);
    """)


MIGRATIONS = (m001_create_link_tables,)
_COLUMNS = "slack_user_id, account_id, method, linked_at, last_used_at, token, token_expires_at"


class LinkStore:
    def __init__(self, files: VersionedFiles) -> None:
        self._db = SharedDuckDB(files, FILE_NAME, MIGRATIONS, what="the Confluence links")

    def get(self, slack_user_id: str) -> UserConfluenceLink | None:
        return self._db.read(lambda conn: _link(conn, slack_user_id))

    def all(self) -> list[UserConfluenceLink]:
        def query(conn: Connection) -> list[UserConfluenceLink]:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM links ORDER BY slack_user_id").fetchall()
            return [_from_row(row) for row in rows]

        return self._db.read(query)

    def opted_out(self, slack_user_id: str) -> bool:
        return self._db.read(
            lambda conn: (
                conn.execute("SELECT 1 FROM opt_outs WHERE slack_user_id = ?", [slack_user_id]).fetchone()
                is not None
            )
        )

    def save(self, link: UserConfluenceLink) -> None:
        """Linking explicitly (OAuth, PAT) also lifts an earlier opt-out."""

        def transition(conn: Connection) -> None:
            _save(conn, link)
            if link.method != "email":
                conn.execute("DELETE FROM opt_outs WHERE slack_user_id = ?", [link.slack_user_id])

        self._db.change(transition)

    def save_by_email(self, link: UserConfluenceLink) -> bool:
        """Saves a link found by email unless the person unlinked or linked otherwise meanwhile."""

        def transition(conn: Connection) -> bool:
            blocked = conn.execute(
                "SELECT 1 FROM opt_outs WHERE slack_user_id = ? UNION ALL "
                "SELECT 1 FROM links WHERE slack_user_id = ?",
                [link.slack_user_id, link.slack_user_id],
            ).fetchone()
            if blocked is not None:
                return False
            _save(conn, link)
            return True

        return self._db.change(transition)

    def touch(self, slack_user_id: str, at: datetime) -> None:
        self._db.change(
            lambda conn: conn.execute(
                "UPDATE links SET last_used_at = ? WHERE slack_user_id = ?", [at, slack_user_id]
            )
        )

    def remove(self, slack_user_id: str, at: datetime) -> UserConfluenceLink | None:
        """Deletes the link and its tokens, and keeps email matching from linking the person again."""

        def transition(conn: Connection) -> UserConfluenceLink | None:
            link = _link(conn, slack_user_id)
            conn.execute("DELETE FROM links WHERE slack_user_id = ?", [slack_user_id])
            conn.execute("INSERT OR REPLACE INTO opt_outs VALUES (?, ?)", [slack_user_id, at])
            return link

        return self._db.change(transition)

    def spend_state(self, nonce: str, at: datetime) -> bool:
        """True the first time a state's nonce is spent, False ever after."""

        def transition(conn: Connection) -> bool:
            if conn.execute("SELECT 1 FROM spent_states WHERE nonce = ?", [nonce]).fetchone():
                return False
            conn.execute("INSERT INTO spent_states VALUES (?, ?)", [nonce, at])
            return True

        return self._db.change(transition)


def _link(conn: Connection, slack_user_id: str) -> UserConfluenceLink | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM links WHERE slack_user_id = ?", [slack_user_id]).fetchone()
    return _from_row(row) if row else None


def _save(conn: Connection, link: UserConfluenceLink) -> None:
    conn.execute(
        f"INSERT OR REPLACE INTO links ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            link.slack_user_id,
            link.account_id,
            link.method,
            link.linked_at,
            link.last_used_at,
            link.token,
            link.token_expires_at,
        ],
    )


def _from_row(row: tuple[object, ...]) -> UserConfluenceLink:
    fields = dict(zip(_COLUMNS.split(", "), row, strict=True))
    return UserConfluenceLink.model_validate(fields)
