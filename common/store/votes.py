"""Votes in the `votes` companion collection beside the chunks, each readable from its record id alone.

A vote is one person's opinion of one chunk in one answer: its `vote_id` is derived from (answer, user,
chunk), so clicking twice or changing one's mind is still one vote. Each click is stored as its own record
whose id spells out everything a score needs: `<chunk id>~<vote id>~<kind mark>~<microseconds>`. A chunk's
tally is then read from ids only (`VoteStore.tallies`), which Chroma answers without touching metadata, so
scoring a vote costs about the same whether the chunk holds one vote or a thousand. When one vote has
several records (a double click, a changed vote, a resolved `outdated`), the newest counts and the others
are deleted after it; readers ignore them until then. Deleting only records older than one seen is what makes
this safe with any number of writers: a newer click is never removed.

Votes are kept after they stop counting (an `outdated` vote resolved by a page edit), so `feedback_count` and
the audit trail stay whole. Records written before ids carried the tally (a 32-hex id) are rewritten in this
form the first time they are read.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
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
            "vote_id": self.vote_id,
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


_MARKS: dict[tuple[VoteKind, bool], str] = {
    ("helpful", False): "h",
    ("not_helpful", False): "n",
    ("incorrect", False): "i",
    ("outdated", False): "o",
    ("outdated", True): "r",
}
"""Ordered so that at one instant a resolution ("r") sorts after the `outdated` vote ("o") it resolves."""
_MARK_KINDS = {mark: kind for (kind, _), mark in _MARKS.items()}
_SEPARATOR = "~"
_STAMP_DIGITS = 16
_VOTE_ID_CHARS = 16


@dataclass(frozen=True, slots=True)
class Tally:
    """What a chunk's scores are computed from: the counted votes by kind, and every vote ever cast on it."""

    counted: tuple[tuple[VoteKind, int], ...]
    total: int

    def counted_kinds(self) -> Iterator[VoteKind]:
        for kind, count in self.counted:
            yield from [kind] * count


def _record_id(vote: Vote) -> str:
    """`<chunk id>~<vote>~<stamp>`: the stamp is the click's microseconds, zero-padded, then the kind's mark,
    so comparing two stamps as strings orders the clicks."""
    micros = int(vote.voted_at.timestamp() * 1_000_000)
    stamp = f"{micros:0{_STAMP_DIGITS}d}{_MARKS[(vote.kind, vote.resolved)]}"
    return _SEPARATOR.join((vote.chunk_id, vote.vote_id[:_VOTE_ID_CHARS], stamp))


def _newest(record_ids: Iterable[str]) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """For each vote, the (chunk id, stamp) of the record that counts; and the older records it replaces.
    Runs once per record on every vote, so it stays plain string work."""
    newest: dict[str, tuple[str, str]] = {}
    older: list[str] = []
    for record_id in record_ids:
        chunk_id, vote, stamp = record_id.rsplit(_SEPARATOR, 2)
        current = newest.get(vote)
        if current is None:
            newest[vote] = (chunk_id, stamp)
        elif stamp > current[1]:
            older.append(_SEPARATOR.join((current[0], vote, current[1])))
            newest[vote] = (chunk_id, stamp)
        else:
            older.append(record_id)
    return newest, older


def _joined(newest: Mapping[str, tuple[str, str]]) -> list[str]:
    return [_SEPARATOR.join((chunk_id, vote, stamp)) for vote, (chunk_id, stamp) in newest.items()]


class VoteStore:
    def __init__(self, store: ChunkStore) -> None:
        self._records = CompanionRecords(store, VOTES)

    def put(self, votes: Sequence[Vote]) -> None:
        """Write votes; one per (answer, user, chunk), the latest replacing any earlier one."""
        if not votes:
            return
        self._records.put({_record_id(vote): vote.to_record() for vote in votes})
        _, older = _newest(self._record_ids({"vote_id": {"$in": sorted({vote.vote_id for vote in votes})}}))
        self._records.delete(older)

    def tallies(self, chunk_ids: Iterable[str]) -> dict[str, Tally]:
        """Each chunk's tally, from record ids only; chunks without votes get an empty one."""
        wanted = sorted(set(chunk_ids))
        counts: dict[str, dict[VoteKind, int]] = {chunk_id: defaultdict(int) for chunk_id in wanted}
        totals: dict[str, int] = dict.fromkeys(wanted, 0)
        if wanted:
            newest, _ = _newest(self._record_ids({"chunk_id": {"$in": wanted}}))
            for chunk_id, stamp in newest.values():
                totals[chunk_id] += 1
                if stamp[-1] != _MARKS[("outdated", True)]:
                    counts[chunk_id][_MARK_KINDS[stamp[-1]]] += 1
        return {
            chunk_id: Tally(
                counted=tuple(
                    (kind, counts[chunk_id][kind]) for kind in VOTE_KINDS if counts[chunk_id][kind]
                ),
                total=totals[chunk_id],
            )
            for chunk_id in wanted
        }

    def for_chunks(self, chunk_ids: Iterable[str]) -> dict[str, list[Vote]]:
        """Every vote on each chunk with all it recorded, oldest first; chunks without votes map to []."""
        wanted = sorted(set(chunk_ids))
        found: dict[str, list[Vote]] = {chunk_id: [] for chunk_id in wanted}
        if wanted:
            newest, _ = _newest(self._record_ids({"chunk_id": {"$in": wanted}}))
            for record in self._records.get(_joined(newest)).values():
                vote = Vote.from_record(record)
                found[vote.chunk_id].append(vote)
        return {chunk_id: sorted(votes, key=lambda v: v.voted_at) for chunk_id, votes in found.items()}

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
        if not moves:
            return 0
        old_ids = self._record_ids({"chunk_id": {"$in": sorted(moves)}})
        newest, _ = _newest(old_ids)
        moved = [
            replace(Vote.from_record(record), chunk_id=moves[str(record["chunk_id"])])
            for record in self._records.get(_joined(newest)).values()
        ]
        if moved:
            self.put(moved)
            self._records.delete(old_ids)
        return len(moved)

    def _record_ids(self, where: Mapping[str, Any]) -> list[str]:
        ids = self._records.find_ids(where)
        legacy = [record_id for record_id in ids if _SEPARATOR not in record_id]
        if not legacy:
            return ids
        return [record_id for record_id in ids if _SEPARATOR in record_id] + self._rewrite_legacy(legacy)

    def _rewrite_legacy(self, legacy_ids: Sequence[str]) -> list[str]:
        """Give records stored before ids carried the tally their new id. Idempotent, so writers racing on
        the same record write the same new record and delete the same old one."""
        votes = [Vote.from_record(record) for record in self._records.get(legacy_ids).values()]
        rewritten = {_record_id(vote): vote.to_record() for vote in votes}
        self._records.put(rewritten)
        self._records.delete(list(legacy_ids))
        return list(rewritten)
