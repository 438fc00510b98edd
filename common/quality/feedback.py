"""Taking a vote or an owner's review: apply it in Chroma now, keep it if Chroma is down, tell analytics and
the owner after.

The order matters. The quality write is synchronous, so the next search already ranks by it. Analytics get a
`UserFeedback` (or `PageReviewed`) event through the publisher, which never fails the caller and keeps what
it cannot deliver. A vote or review that cannot be applied because Chroma is down is kept
(`common.quality.pending`) and applied by the next one that succeeds, or by the decay job; the person is told
it will count shortly. Owner notices happen after Slack has been answered (`notify_owners`), because they
call Slack and may wait on its limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from common.errors import ServiceUnavailable
from common.events.model import PageReviewed, UserFeedback
from common.events.publishers import EventPublisher
from common.logs import get_logger
from common.quality.escalation import NegativeReportWatch
from common.quality.model import PROBLEM_KINDS
from common.quality.notices import OwnerNotices, Problem
from common.quality.pending import PendingWrites, Review
from common.quality.writer import QualityChange, QualityWriter
from common.store.votes import Vote

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
        pending: PendingWrites,
        publisher: EventPublisher,
        notifier: OwnerNotices | None,
        watch: NegativeReportWatch | None = None,
    ) -> None:
        self._writer = writer
        self._pending = pending
        self._publisher = publisher
        self._notifier = notifier
        self._watch = watch

    @property
    def writer(self) -> QualityWriter:
        return self._writer

    def submit(self, votes: Sequence[Vote]) -> FeedbackReceipt:
        try:
            changes = self._writer.record_votes(votes)
        except ServiceUnavailable as exc:
            self._pending.keep_votes(list(votes))
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

    def review(self, page_id: str, *, reviewer: str, at: datetime) -> FeedbackReceipt:
        """An owner confirmed the page is right: every chunk of it is verified again from `at`."""
        review = Review(page_id=page_id, reviewer=reviewer, reviewed_at=at)
        try:
            changes = self._writer.mark_reviewed(page_id, reviewer=reviewer, at=at)
        except ServiceUnavailable as exc:
            self._pending.keep_review(review)
            log.warning("review_not_recorded_yet", page_id=page_id, error=str(exc))
            return FeedbackReceipt(counted=False)
        self._publisher.publish([PageReviewed(page_id=page_id, reviewer=reviewer, chunks=len(changes))])
        self.replay_pending()
        return FeedbackReceipt(counted=True, changes=changes)

    def replay_pending(self) -> int:
        """Apply votes and reviews kept during an outage; Chroma has just answered, so now is a good time.
        Returns how many were applied."""
        try:
            replayed = self._pending.replay(self._writer)
        except ServiceUnavailable as exc:
            log.warning("pending_writes_still_waiting", error=str(exc))
            return 0
        if replayed.reviews:
            self._publisher.publish(
                [
                    PageReviewed(page_id=review.page_id, reviewer=review.reviewer, chunks=chunks)
                    for review, chunks in replayed.reviews
                ]
            )
        return replayed.votes + len(replayed.reviews)

    def notify_owners(self, votes: Sequence[Vote], receipt: FeedbackReceipt) -> None:
        """One notice per page: for an `outdated`/`incorrect` vote, or a score that just fell under the
        alert threshold; and the admins hear of a page many people reported (`NegativeReportWatch`)."""
        if self._watch is not None and receipt.counted:
            try:
                self._watch.check(votes)
            except ServiceUnavailable as exc:
                log.warning("negative_reports_not_checked", error=str(exc))
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

    def deliver_pending_notices(self) -> int:
        return self._notifier.deliver_pending() if self._notifier is not None else 0

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
