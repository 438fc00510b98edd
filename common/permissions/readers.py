"""A person content is shown to, as the chunks' read rules see them (`common.store.access`)."""

from __future__ import annotations

from dataclasses import dataclass

from common.store.access import ReadRule


@dataclass(frozen=True, slots=True)
class ConfluenceReader:
    """A Confluence account and the groups it was in when last read (at most the permission TTL ago)."""

    account_id: str
    groups: frozenset[str]

    def allowed_by(self, rule: ReadRule) -> bool:
        return self.account_id in rule.users or not self.groups.isdisjoint(rule.groups)
