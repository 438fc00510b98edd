"""Votes and reviews that arrived while Chroma was down, kept until they can be applied.

One small JSON record per vote (named by its vote id) or review (named by page, reviewer and time): a
repeated click while Chroma is down overwrites its own record, and replay applies each record through the
normal quality writer (idempotent per vote id; a review never moves `reviewed_at` backwards), then removes
it. Where the records live (`common.infra.record_files`) is the wiring's choice: the bucket on Cloud Run, a
folder under KB_HOME on one machine.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from common.errors import KbError, ServiceUnavailable
from common.infra.record_files import RecordFiles
from common.logs import get_logger
from common.quality.writer import QualityWriter
from common.store.votes import Vote

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Review:
    """An owner's "Mark as reviewed" for a page."""

    page_id: str
    reviewer: str
    reviewed_at: datetime

    @property
    def review_id(self) -> str:
        key = f"{self.page_id}\x1f{self.reviewer}\x1f{self.reviewed_at.isoformat()}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(slots=True)
class Replayed:
    votes: int = 0
    reviews: list[tuple[Review, int]] = field(default_factory=list)
    """Each review applied, with how many chunks it marked."""


class PendingWrites:
    def __init__(self, *, votes: RecordFiles, reviews: RecordFiles) -> None:
        self._votes = votes
        self._reviews = reviews

    def keep_votes(self, votes: list[Vote]) -> None:
        for vote in votes:
            self._votes.write(f"{vote.vote_id}.json", _encode(asdict(vote), "voted_at", vote.voted_at))
        log.warning("votes_kept_for_replay", votes=[vote.vote_id for vote in votes])

    def keep_review(self, review: Review) -> None:
        self._reviews.write(
            f"{review.review_id}.json", _encode(asdict(review), "reviewed_at", review.reviewed_at)
        )
        log.warning("review_kept_for_replay", page_id=review.page_id, reviewer=review.reviewer)

    def count(self) -> int:
        return len(self._votes.names()) + len(self._reviews.names())

    def replay(self, writer: QualityWriter) -> Replayed:
        """Apply every kept vote, then every kept review; stops at the first outage (the rest wait)."""
        done = Replayed()

        def vote(record: dict[str, Any]) -> None:
            writer.record_votes([Vote(**_decoded(record, "voted_at"))])
            done.votes += 1

        def review(record: dict[str, Any]) -> None:
            kept = Review(**_decoded(record, "reviewed_at"))
            changes = writer.mark_reviewed(kept.page_id, reviewer=kept.reviewer, at=kept.reviewed_at)
            done.reviews.append((kept, len(changes)))

        _apply_each(self._votes, vote)
        _apply_each(self._reviews, review)
        if done.votes or done.reviews:
            log.info("pending_writes_replayed", votes=done.votes, reviews=len(done.reviews))
        return done


def _apply_each(files: RecordFiles, apply: Callable[[dict[str, Any]], None]) -> None:
    """Apply each kept record and remove it. An unreadable record, or one the store refuses, is logged and
    kept for a person to look at; an outage stops here with the rest kept for the next replay."""
    for name in files.names():
        data = files.read(name)
        if data is None:
            continue
        try:
            record = json.loads(data)
            if not isinstance(record, dict):
                raise TypeError("not a JSON object")
            apply(record)
        except ServiceUnavailable:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            log.error("pending_record_unreadable", file=name, error=str(exc))
            continue
        except KbError as exc:
            log.error("pending_record_refused", file=name, error=str(exc))
            continue
        files.remove(name)


def _encode(record: dict[str, Any], time_field: str, moment: datetime) -> bytes:
    return json.dumps({**record, time_field: moment.isoformat()}).encode()


def _decoded(record: dict[str, Any], time_field: str) -> dict[str, Any]:
    return {**record, time_field: datetime.fromisoformat(str(record[time_field]))}
