"""What the permission checks read from Confluence through the sync account, trusted for a TTL.

Group memberships decide who may read restricted pages, so a stale one is a leak once someone leaves a
group: nothing is served from this cache past `CONFLUENCE_PERMISSION_TTL_SECONDS`, and when Confluence cannot
be asked again the caller is told (`PermissionsUnavailable`), never handed the old answer. The people list
(for matching a Slack email to an account) is cached the same way; an email not in it re-reads it
when it is older than a fifteenth of the TTL (a minute by default), so a new hire is found soon.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from common.confluence.models import Person
from common.errors import PermissionsUnavailable, SourceError, SourceNotFound
from common.logs import get_logger

log = get_logger(__name__)


class PeopleSource(Protocol):
    """The part of a page source that knows people: `RestPageSource` and `FolderPageSource`."""

    def groups_of(self, account_id: str) -> frozenset[str]: ...

    def people(self) -> list[Person]: ...


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    value: T
    read_at: float


class Directory:
    def __init__(
        self, source: PeopleSource, *, ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._source = source
        self._ttl = ttl_seconds
        self._clock = clock
        self._groups: dict[str, _Entry[frozenset[str]]] = {}
        self._emails: _Entry[dict[str, str]] | None = None
        self._lock = threading.Lock()

    def groups_of(self, account_id: str) -> frozenset[str]:
        """The account's groups, read at most TTL ago; an account Confluence does not know is in none."""
        with self._lock:
            entry = self._groups.get(account_id)
            if entry is not None and self._fresh(entry.read_at):
                return entry.value
        try:
            groups = self._source.groups_of(account_id)
        except SourceNotFound:
            groups = frozenset()
        except SourceError as exc:
            raise PermissionsUnavailable(
                f"Confluence could not say which groups {account_id} is in ({exc}); restricted pages are "
                "left out until it can."
            ) from exc
        with self._lock:
            self._groups[account_id] = _Entry(groups, self._clock())
        return groups

    def account_for_email(self, email: str) -> str | None:
        """The account whose email this is (case-insensitive), if the sync account can see that email."""
        wanted = email.strip().lower()
        emails = self._email_index(refresh=False)
        if wanted not in emails:
            emails = self._email_index(refresh=True)
        return emails.get(wanted)

    def _email_index(self, *, refresh: bool) -> dict[str, str]:
        with self._lock:
            entry = self._emails
            if (
                entry is not None
                and self._fresh(entry.read_at)
                and not (refresh and self._age(entry.read_at) > self._ttl / 15)
            ):
                return entry.value
        try:
            people = self._source.people()
        except SourceError as exc:
            raise PermissionsUnavailable(
                f"Confluence could not list its users to match an email ({exc})."
            ) from exc
        index = {p.email.lower(): p.account_id for p in people if p.email and p.account_id}
        with self._lock:
            self._emails = _Entry(index, self._clock())
        log.info("confluence_people_read", people=len(people), with_email=len(index))
        return index

    def _age(self, read_at: float) -> float:
        return self._clock() - read_at

    def _fresh(self, read_at: float) -> bool:
        return self._age(read_at) < self._ttl
