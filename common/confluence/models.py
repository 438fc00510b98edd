"""Plain values that every page source produces, so ingestion never knows which source it reads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from common.store.access import ReadRule
from common.store.chunk import Classification, SourceKind


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str | None = None
    account_id: str | None = None

    @property
    def handle(self) -> str:
        """How governance fields name a person: the email when known (Slack resolves owners by it)."""
        return self.email or self.name


@dataclass(frozen=True, slots=True)
class PageRef:
    """One line of a complete space listing: enough to reconcile deletions and restrictions."""

    page_id: str
    space_key: str
    title: str
    version: int
    ancestor_ids: tuple[str, ...] = ()
    read_rule: ReadRule | None = None
    """The page's own read restriction, if it has one; the caller combines it with its ancestors' and the
    space's (`common.ingestion.page_access`)."""

    @property
    def restricted(self) -> bool:
        return self.read_rule is not None


@dataclass(frozen=True, slots=True)
class SourcePage:
    page_id: str
    space_key: str
    title: str
    url: str
    version: int
    body_storage: str
    author: Person
    last_editor: Person
    created_at: datetime
    updated_at: datetime
    labels: tuple[str, ...] = ()
    ancestor_ids: tuple[str, ...] = ()
    read_rule: ReadRule | None = None
    """The page's own read restriction, as on `PageRef`."""
    read_rules: tuple[ReadRule, ...] = ()
    """Every restriction a reader must pass (space, ancestors, the page): set by the sync before indexing."""
    owner: Person | None = None
    """An explicit owner (label `owner-<user>` or a sample-space field); None means the author owns it."""
    classification: str | None = None
    """An explicit classification from the source; None means decide from labels and defaults."""

    @property
    def restricted(self) -> bool:
        """Whether the page itself carries a read restriction."""
        return self.read_rule is not None


class PageSource(Protocol):
    """A place pages come from. Implementations: `RestPageSource` (Confluence) and `FolderPageSource`."""

    kind: SourceKind

    @property
    def default_classification(self) -> Classification | None:
        """The source's own default for unlabelled pages; None defers to DEFAULT_CLASSIFICATION."""
        ...

    def space_keys(self) -> list[str]:
        """The spaces this source is configured to sync."""
        ...

    def changed_pages(self, space_key: str, since: datetime | None) -> Iterator[SourcePage]:
        """Pages modified at or after `since` (all pages when None), with bodies, oldest change first."""
        ...

    def count_changed_pages(self, space_key: str, since: datetime | None) -> int:
        """How many pages `changed_pages` would yield now, read without any body (a progress bar's total).
        Raises `SourceError` when the source cannot tell."""
        ...

    def list_pages(self, space_key: str) -> list[PageRef]:
        """Every current page of the space. Raises `SourceError` rather than return a partial listing."""
        ...

    def space_read_rule(self, space_key: str) -> ReadRule | None:
        """Who may view the space: None when every member of the site may. Raises `SourceError` when it
        cannot be read, so no page of the space is indexed as more open than it is."""
        ...

    def get_page(self, page_id: str) -> SourcePage:
        """One page with its body."""
        ...

    def user_name(self, ref: str) -> str | None:
        """Display name for an account id, user key or username seen in a `ri:user` mention."""
        ...
