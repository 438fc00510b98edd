"""What the Confluence stand-in holds: spaces, users and pages in memory, and the CQL that selects pages.

No HTTP and no wire format here: `confluence_payloads` renders this content as Confluence's JSON and
`confluence_standin` serves it. Tests change the content through these methods while the server runs, so
every change takes the lock the server's request handling holds.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class StandinUser:
    account_id: str
    display_name: str
    email: str = ""
    username: str | None = None
    user_key: str | None = None


@dataclass
class StandinPage:
    page_id: str
    space_key: str
    title: str
    body: str
    author: str
    created: datetime
    modified: datetime
    modifier: str
    version: int = 1
    labels: list[str] = field(default_factory=list)
    parent_id: str | None = None
    read_users: list[str] = field(default_factory=list)
    read_groups: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    """Dotted fields left out of this page's content JSON, to test how clients face incomplete payloads."""


@dataclass(frozen=True)
class Cql:
    space: str | None
    type: str | None
    since: datetime | None
    descending: bool
    label: str | None = None

    @classmethod
    def parse(cls, text: str) -> Cql:
        """The query shapes the product sends: `space = "X" AND type = page [AND lastmodified >= "…"]
        [ORDER BY lastmodified ASC|DESC]`, and `space = "X" AND label = "…"`. Anything else raises
        ValueError (answered as a 400)."""
        parts = re.split(r"\s+order\s+by\s+", text, maxsplit=1, flags=re.I)
        where, order = parts[0], (parts[1] if len(parts) > 1 else "")
        found: dict[str, str] = {}
        for clause in re.split(r"\s+and\s+", where, flags=re.I):
            match = _CQL_CLAUSE.match(clause)
            if not match:
                raise ValueError(f"Could not parse cql : {text}")
            groups = [g for g in match.groups() if g is not None]
            found[groups[0].lower()] = groups[1]
        if order and not re.fullmatch(r"\s*lastmodified(\s+(asc|desc))?\s*", order, flags=re.I):
            raise ValueError(f"Could not parse cql : {text}")
        since = found.get("lastmodified")
        return cls(
            space=found.get("space"),
            type=found.get("type"),
            since=datetime.strptime(since, "%Y/%m/%d %H:%M").replace(tzinfo=UTC) if since else None,
            descending=bool(re.search(r"desc\s*$", order, flags=re.I)),
            label=found.get("label"),
        )

    def selects(self, page: StandinPage) -> bool:
        return (
            (self.space is None or page.space_key == self.space)
            and self.type in (None, "page")
            and (self.since is None or page.modified >= self.since)
            and (self.label is None or self.label in page.labels)
        )


_CQL_CLAUSE = re.compile(
    r'^\s*(?:(space)\s*=\s*"([^"]*)"|(type)\s*=\s*"?(\w+)"?|(lastmodified)\s*>=\s*"([^"]+)"'
    r'|(label)\s*=\s*"([^"]*)")\s*$',
    re.I,
)


class ConfluenceContent:
    """Spaces, users and pages, with the edits tests make to them. Page ids count up from 100001."""

    def __init__(self) -> None:
        self.spaces: dict[str, str] = {}
        self.users: dict[str, StandinUser] = {}
        self.pages: dict[str, StandinPage] = {}
        self.groups: dict[str, list[str]] = {}
        """Group name → member account ids (what `user/memberof` answers from)."""
        self.space_viewers: dict[str, tuple[list[str], list[str]]] = {}
        """Space key → the users and groups that may view it; a space not here is open to every member
        (its view permission is granted to the `confluence-users` group)."""
        self.personal_tokens: dict[str, str] = {}
        """Data Center personal access token → the account it belongs to (answered by `user/current`)."""
        self.restriction_limit = 200
        """How many subjects of a restriction a page's expanded content shows (a full page means more)."""
        self._ids = itertools.count(100001)
        self._lock = threading.Lock()
        self.add_user("standin-admin", "Standin Admin", email="admin@example.com")

    def add_space(self, key: str, name: str | None = None) -> None:
        self.spaces[key] = name or f"{key} Space"

    def add_user(self, account_id: str, display_name: str, **details: str) -> StandinUser:
        self.users[account_id] = StandinUser(account_id, display_name, **details)
        return self.users[account_id]

    def add_page(
        self,
        space_key: str,
        title: str,
        body: str = "<p>Body</p>",
        *,
        author: str = "standin-admin",
        parent_id: str | None = None,
        labels: Iterable[str] = (),
        created: datetime | None = None,
        modified: datetime | None = None,
    ) -> str:
        with self._lock:
            page_id = str(next(self._ids))
            created = created or datetime.now(UTC)
            self.pages[page_id] = StandinPage(
                page_id,
                space_key,
                title,
                body,
                author,
                created,
                modified or created,
                author,
                labels=list(labels),
                parent_id=parent_id,
            )
        return page_id

    def edit_page(
        self,
        page_id: str,
        *,
        body: str | None = None,
        title: str | None = None,
        editor: str | None = None,
        when: datetime | None = None,
    ) -> None:
        """A new version: number + 1, lastModified now (or `when`)."""
        with self._lock:
            page = self.pages[page_id]
            page.body = page.body if body is None else body
            page.title = page.title if title is None else title
            page.modifier = editor or page.modifier
            page.modified = when or datetime.now(UTC)
            page.version += 1

    def delete_page(self, page_id: str) -> None:
        with self._lock:
            del self.pages[page_id]

    def restrict(self, page_id: str, *, users: Iterable[str] = (), groups: Iterable[str] = ()) -> None:
        with self._lock:
            self.pages[page_id].read_users = list(users)
            self.pages[page_id].read_groups = list(groups)

    def add_group(self, name: str, members: Iterable[str] = ()) -> None:
        with self._lock:
            self.groups[name] = list(members)

    def restrict_space(
        self, space_key: str, *, users: Iterable[str] = (), groups: Iterable[str] = ()
    ) -> None:
        """Only these may view the space (its view permission taken from `confluence-users`)."""
        with self._lock:
            self.space_viewers[space_key] = (list(users), list(groups))

    def drop_field(self, page_id: str, dotted: str) -> None:
        self.pages[page_id].dropped.append(dotted)

    def matching(self, query: Cql) -> list[StandinPage]:
        """The pages `query` selects, in its lastmodified order (page id breaks ties)."""
        return sorted(
            (page for page in self.pages.values() if query.selects(page)),
            key=lambda page: (page.modified, int(page.page_id)),
            reverse=query.descending,
        )

    def ancestors(self, page: StandinPage) -> list[StandinPage]:
        """Root first, as Confluence lists them; stops at a parent that has been deleted."""
        chain: list[StandinPage] = []
        parent = page.parent_id
        while parent is not None and parent in self.pages:
            chain.insert(0, self.pages[parent])
            parent = self.pages[parent].parent_id
        return chain
