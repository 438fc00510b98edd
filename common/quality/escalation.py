"""When a page's problems go past its owner to the knowledge admins.

Two cases: several people reporting the same page within a day (`NegativeReportWatch`, run after each vote
has been counted), and an owner who cannot be reached to hear of a problem (the owner notices report it).
How the admins hear of it (one Slack message with actions) is the `Escalations` implementation's concern;
it sends at most one message per page, reason and day.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from common.logs import get_logger
from common.store.chunk_store import ChunkStore
from common.store.votes import NEGATIVE_VOTE_KINDS, Vote, VoteStore

log = get_logger(__name__)


class Escalations(Protocol):
    def escalate(self, page_id: str, *, reason: str, detail: str) -> None:
        """Ask the admins to act on the page (`reason` `negative_reports` or `owner_unreachable`). Never
        raises: a message that cannot be sent now is logged and sent by the next escalation of the page."""
        ...


class NegativeReportWatch:
    def __init__(
        self,
        *,
        store: ChunkStore,
        votes: VoteStore,
        escalations: Escalations,
        threshold: int,
        window: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._votes = votes
        self._escalations = escalations
        self._threshold = threshold
        self._window = window
        self._clock = clock

    def check(self, votes: Sequence[Vote]) -> list[str]:
        """Escalate each page these votes reported that now has enough recent reports; returns those pages.

        A report is one person's negative vote on one answer, however many of the page's chunks it cited,
        so one person clicking three times, or one answer quoting three passages, is still one report."""
        escalated = []
        for page_id in sorted({vote.page_id for vote in votes if vote.kind in NEGATIVE_VOTE_KINDS}):
            reports = self.recent_reports(page_id)
            if reports >= self._threshold:
                hours = self._window.total_seconds() / 3600
                self._escalations.escalate(
                    page_id,
                    reason="negative_reports",
                    detail=f"{reports} negative reports in the last {hours:g} hours",
                )
                escalated.append(page_id)
        return escalated

    def recent_reports(self, page_id: str) -> int:
        since = self._clock() - self._window
        chunk_ids = list(self._store.get_metadata(where={"page_id": page_id}))
        return len(
            {
                (vote.answer_id, vote.user_id)
                for votes in self._votes.for_chunks(chunk_ids).values()
                for vote in votes
                if vote.kind in NEGATIVE_VOTE_KINDS and vote.counts and vote.voted_at >= since
            }
        )
