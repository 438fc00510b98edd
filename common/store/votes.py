"""Votes, one record each, in the `votes` companion collection beside the chunks.

A vote's id is derived from (answer, user, chunk), so clicking twice writes the same record once and changing
a vote overwrites it: deduplication needs no read. Because every vote is its own record, concurrent votes
from any number of processes never overwrite each other; the chunk's scores are then recomputed from the
records (`common.quality.writer`). Votes are kept after they stop counting (an `outdated` vote resolved by a
page edit), so `feedback_count` and the audit trail stay whole.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from common.store.chunk_store import ChunkStore
from common.store.companions import VOTES, CompanionRecords

VoteKind = Literal["helpful", "not_helpful", "outdated", "incorrect"]
VOTE_KINDS: tuple[VoteKind, ...] = get_args(VoteKind)
NEGATIVE_VOTE_KINDS: tuple[VoteKind, ...] = ("not_helpful", "outdated", "incorrect")
"""Votes that say an answer's content was wrong: they count as negative reports everywhere."""
MAX_COMMENT_CHARS = 2000
MAX_QUESTION_CHARS = 500


@dataclass(frozen=True, slots=True)
class Vote:
    chunk_id: str
    page_id: str
    answer_id: str
    user_id: str
    kind: VoteKind
    voted_at: datetime
    question: str = ""
    comment: str = ""
    resolved: bool = False
    """An `outdated` vote the page has since been edited for: kept, no longer counted."""

    @property
    def vote_id(self) -> str:
        key = f"{self.answer_id}\x1f{self.user_id}\x1f{self.chunk_id}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    @property
    def counts(self) -> bool:
        return not self.resolved

    def to_record(self) -> dict[str, str | float | bool]:
        return {
            "chunk_id": self.chunk_id,
            "page_id": self.page_id,
            "answer_id": self.answer_id,
            "user_id": self.user_id,
            "kind": self.kind,
            "voted_at": self.voted_at.timestamp(),
            "question": self.question[:MAX_QUESTION_CHARS],
            "comment": self.comment[:MAX_COMMENT_CHARS],
            "resolved": self.resolved,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Vote:
        return cls(
            chunk_id=str(record["chunk_id"]),
            page_id=str(record["page_id"]),
            answer_id=str(record["answer_id"]),
            user_id=str(record["user_id"]),
            kind=cast(VoteKind, record["kind"]),
            voted_at=datetime.fromtimestamp(float(record["voted_at"]), UTC),
            question=str(record.get("question", "")),
            comment=str(record.get("comment", "")),
            resolved=bool(record.get("resolved", False)),
        )


class VoteStore:
    def __init__(self, store: ChunkStore) -> None:
        self._records = CompanionRecords(store, VOTES)

    def put(self, votes: Sequence[Vote]) -> None:
        """Write votes; one per (answer, user, chunk), the latest replacing any earlier one."""
        self._records.put({vote.vote_id: vote.to_record() for vote in votes})

    def for_chunks(self, chunk_ids: Iterable[str]) -> dict[str, list[Vote]]:
        """Every vote on each chunk, oldest first; chunks without votes map to an empty list."""
        wanted = sorted(set(chunk_ids))
        found: dict[str, list[Vote]] = defaultdict(list)
        if wanted:
            for record in self._records.find({"chunk_id": {"$in": wanted}}).values():
                vote = Vote.from_record(record)
                found[vote.chunk_id].append(vote)
        return {chunk_id: sorted(found[chunk_id], key=lambda v: v.voted_at) for chunk_id in wanted}

    def resolve_outdated(self, chunk_ids: Iterable[str]) -> int:
        """Mark the `outdated` votes on these chunks resolved (their text was edited); returns how many."""
        open_votes = [
            replace(vote, resolved=True)
            for votes in self.for_chunks(chunk_ids).values()
            for vote in votes
            if vote.kind == "outdated" and not vote.resolved
        ]
        self.put(open_votes)
        return len(open_votes)

    def reassign(self, moves: Mapping[str, str]) -> int:
        """Move votes to the chunk that now holds their text (a sync changed its id); returns how many."""
        moved = [
            (vote.vote_id, replace(vote, chunk_id=moves[old]))
            for old, votes in self.for_chunks(moves).items()
            for vote in votes
        ]
        if moved:
            self.put([vote for _, vote in moved])
            self._records.delete([old_id for old_id, _ in moved])
        return len(moved)
