"""What quality tells page owners about, and the one-method interface it tells them through.

Quality decides *that* an owner must hear of a problem (a report that content is outdated or wrong, a score
that fell under the alert threshold); how they hear of it (a Slack DM today) is the job of whoever the
wiring passes in, so the quality rules never depend on a chat product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Problem:
    page_id: str
    kind: str
    """A vote kind, or `low_quality` when a page's score fell under the alert threshold."""
    question: str = ""
    comment: str = ""


class OwnerNotices(Protocol):
    def notify(self, problem: Problem) -> None:
        """Tell the page's owner; failures are the implementation's to record and retry, never the
        caller's."""
        ...

    def deliver_pending(self) -> int:
        """Deliver what earlier notices could not (the daily quality run calls it); returns how many."""
        ...
