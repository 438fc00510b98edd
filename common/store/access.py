"""Who may read a chunk: the read restrictions of its page, mirrored from Confluence.

Confluence lets someone read a page only if every restriction on the way to it allows them: the space's view
permission, the page's own read restriction, and the read restriction of every restricted ancestor (they
intersect; taking only the nearest one over-grants). So a chunk carries a list of rules, and a reader must
satisfy each one: be named in it, or be in one of its groups. No rules means every member of the site may
read it. A rule that names nobody lets nobody in.

Users are Confluence account ids (Data Center: user keys); groups are group names. Checking group membership
is the reader's business (`common.permissions`), so this module stays a pure rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict, field_validator


class ReadRule(BaseModel):
    """One restriction: who it lets read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    @field_validator("users", "groups")
    @classmethod
    def _sorted_unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """One spelling per rule, so equal access compares equal and a re-sync writes nothing."""
        return tuple(sorted(set(value)))


class Reader(Protocol):
    """Someone content is shown to."""

    def allowed_by(self, rule: ReadRule) -> bool:
        """Whether `rule` lets this reader in."""
        ...


class _Everyone:
    """Whoever may see a channel message: every member of the workspace, so no restriction lets them in."""

    def allowed_by(self, rule: ReadRule) -> bool:
        return False

    def __repr__(self) -> str:
        return "EVERYONE"


EVERYONE: Reader = _Everyone()


def may_read(reader: Reader, rules: Sequence[ReadRule]) -> bool:
    return all(reader.allowed_by(rule) for rule in rules)


def combined(rules: Iterable[ReadRule | None]) -> tuple[ReadRule, ...]:
    """The rules of a page: each restriction on the way to it, once, in a stable order."""
    unique = {rule for rule in rules if rule is not None}
    return tuple(sorted(unique, key=lambda rule: (rule.users, rule.groups)))
