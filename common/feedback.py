"""Taking a vote: count it in Chroma now, keep it if Chroma is down, tell analytics and the owner after.

The order matters. The quality write is synchronous, so the next search already ranks by it. Analytics get a
`UserFeedback` event through the publisher, which never fails the caller and keeps what it cannot deliver.
A vote that cannot be counted because Chroma is down is kept (`common.pending_votes`) and counted by the
next vote that succeeds, or by the decay job; the user is told it will count shortly. Owner notifications
happen after Slack has been answered (`notify_owners`), because they call Slack and may wait on its limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from common.errors import ServiceUnavailable
from common.events import EventPublisher, UserFeedback
from common.logs import get_logger
from common.owner_notifications import OwnerNotifier, Problem
from common.pending_votes import PendingVotes
from common.quality import PROBLEM_KINDS
from common.quality_writer import QualityChange, QualityWriter
from common.votes import Vote

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FeedbackReceipt:
    counted: bool
    """False: Chroma was down; the votes are kept and will be counted on replay."""
    changes: dict[str, QualityChange] = field(default_factory=dict)


class FeedbackService:
    def __init__(
        self,
        *,
        writer: QualityWriter,
        pending: PendingVotes,
        publisher: EventPublisher,
        notifier: OwnerNotifier | None,
    ) -> None:
        self._writer = writer
        self._pending = pending
        self._publisher = publisher
        self._notifier = notifier

    @property
    def writer(self) -> QualityWriter:
        return self._writer

    def submit(self, votes: Sequence[Vote]) -> FeedbackReceipt:
        try:
            changes = self._writer.record_votes(votes)
        except ServiceUnavailable as exc:
            self._pending.keep(list(votes))
            log.warning("votes_not_counted_yet", votes=len(votes), error=str(exc))
            self._publish(votes, {})
            return FeedbackReceipt(counted=False)
        for vote in votes:
            change = changes.get(vote.chunk_id)
            log.info(
                "vote_counted",
                vote_id=vote.vote_id,
                chunk_id=vote.chunk_id,
                answer_id=vote.answer_id,
                vote=vote.kind,
                quality=change.after if change else None,
            )
        self._publish(votes, changes)
        self.replay_pending()
        return FeedbackReceipt(counted=True, changes=changes)

    def replay_pending(self) -> int:
        """Count votes kept during an outage; Chroma has just answered, so now is a good time."""
        try:
            return self._pending.replay(self._writer)
        except ServiceUnavailable as exc:
            log.warning("pending_votes_still_waiting", error=str(exc))
            return 0

    def notify_owners(self, votes: Sequence[Vote], receipt: FeedbackReceipt) -> None:
        """One notice per page: for an `outdated`/`incorrect` vote, or a score that just fell under the
        alert threshold."""
        if self._notifier is None:
            return
        threshold = self._writer.policy.alert_threshold
        problems: dict[str, Problem] = {}
        for vote in votes:
            change = receipt.changes.get(vote.chunk_id)
            fell = change is not None and change.before >= threshold > change.after
            if vote.kind in PROBLEM_KINDS or fell:
                kind = vote.kind if vote.kind in PROBLEM_KINDS else "low_quality"
                problems.setdefault(vote.page_id, Problem(vote.page_id, kind, vote.question, vote.comment))
        for problem in problems.values():
            self._notifier.notify(problem)

    def notify_owners_of(self, problem: Problem) -> None:
        if self._notifier is not None:
            self._notifier.notify(problem)

    def _publish(self, votes: Sequence[Vote], changes: dict[str, QualityChange]) -> None:
        self._publisher.publish(
            [
                UserFeedback(
                    vote_id=vote.vote_id,
                    chunk_id=vote.chunk_id,
                    page_id=vote.page_id,
                    answer_id=vote.answer_id,
                    user_id=vote.user_id,
                    vote=vote.kind,
                    comment=vote.comment,
                    question=vote.question,
                    quality_before=changes[vote.chunk_id].before if vote.chunk_id in changes else None,
                    quality_after=changes[vote.chunk_id].after if vote.chunk_id in changes else None,
                )
                for vote in votes
            ]
        )
