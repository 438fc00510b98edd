"""The day's digest message to an owner about a page, in the `notices` companion.

Keyed by owner, page and UTC day, so every instance that hears of a problem with a page that day finds and
updates the same Slack message instead of posting another. Three kinds of record, each written by one kind of
event so concurrent writers never overwrite each other's facts: one per reported problem (`item`), one saying
where the posted message is (`digest`, written once, by the instance that posted it), and a `pending` marker
while Slack's copy is behind the items (a refused post or update, or one another instance was making).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from common.store.chunk_store import ChunkStore
from common.store.companions import NOTICES, CompanionRecords


@dataclass(frozen=True, slots=True)
class Digest:
    owner: str
    page_id: str
    day: date
    channel: str = ""
    ts: str = ""
    """Empty until the message is posted."""
    user_id: str = ""

    @property
    def id(self) -> str:
        return notice_id(self.owner, self.page_id, self.day)

    @property
    def posted(self) -> bool:
        return bool(self.ts)


@dataclass(frozen=True, slots=True)
class NoticeItem:
    kind: str
    question: str
    comment: str
    at: datetime

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "question": self.question, "comment": self.comment}


class NoticeStore:
    def __init__(self, store: ChunkStore) -> None:
        self._records = CompanionRecords(store, NOTICES)

    def digest(self, *, owner: str, page_id: str, day: date) -> Digest:
        """Where the day's message is, if it was posted."""
        key = notice_id(owner, page_id, day)
        record = self._records.get([key]).get(key) or {}
        return Digest(
            owner=owner,
            page_id=page_id,
            day=day,
            channel=str(record.get("channel", "")),
            ts=str(record.get("ts", "")),
            user_id=str(record.get("user_id", "")),
        )

    def save_posted(self, digest: Digest) -> None:
        self._records.put(
            {
                digest.id: {
                    "record": "digest",
                    **_key(digest),
                    "channel": digest.channel,
                    "ts": digest.ts,
                    "user_id": digest.user_id,
                }
            }
        )

    def add_item(self, digest: Digest, item: NoticeItem) -> None:
        self._records.put(
            {
                f"{digest.id}-{uuid.uuid4().hex[:12]}": {
                    "record": "item",
                    "notice": digest.id,
                    "kind": item.kind,
                    "question": item.question,
                    "comment": item.comment,
                    "at": item.at.timestamp(),
                }
            }
        )

    def items(self, digest: Digest) -> list[NoticeItem]:
        """Every problem reported for the digest, oldest first."""
        items = [
            NoticeItem(
                kind=str(record["kind"]),
                question=str(record.get("question", "")),
                comment=str(record.get("comment", "")),
                at=datetime.fromtimestamp(float(record["at"]), tz=UTC),
            )
            for record in self._records.find({"notice": digest.id}).values()
            if record.get("record") == "item"
        ]
        return sorted(items, key=lambda item: item.at)

    def mark_pending(self, digest: Digest) -> None:
        self._records.put({f"{digest.id}-pending": {"record": "pending", **_key(digest)}})

    def clear_pending(self, digest: Digest) -> None:
        self._records.delete([f"{digest.id}-pending"])

    def pending(self) -> list[Digest]:
        """Digests whose Slack message is behind their items, for a later run to deliver."""
        return [
            self.digest(
                owner=str(record["owner"]),
                page_id=str(record["page_id"]),
                day=date.fromisoformat(str(record["day"])),
            )
            for record in self._records.find({"record": "pending"}).values()
        ]


def notice_id(owner: str, page_id: str, day: date) -> str:
    return hashlib.sha256(f"{owner}\x1f{page_id}\x1f{day.isoformat()}".encode()).hexdigest()[:32]


def _key(digest: Digest) -> dict[str, str]:
    return {"owner": digest.owner, "page_id": digest.page_id, "day": digest.day.isoformat()}
