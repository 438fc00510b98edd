"""The day's digest message to an owner about a page, in the `notices` companion.

Keyed by owner, page and UTC day, so every instance that hears of a problem with a page that day finds and
updates the same Slack message instead of posting another.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date

from common.store.chunk_store import ChunkStore
from common.store.companions import NOTICES, CompanionRecords


@dataclass(frozen=True, slots=True)
class Notice:
    channel: str = ""
    ts: str = ""
    """Empty until the message is posted."""
    user_id: str = ""
    items: tuple[dict[str, str], ...] = field(default_factory=tuple)

    @property
    def posted(self) -> bool:
        return bool(self.ts)


class NoticeStore:
    def __init__(self, store: ChunkStore) -> None:
        self._records = CompanionRecords(store, NOTICES)

    def get(self, *, owner: str, page_id: str, day: date) -> Notice:
        record = self._records.get([notice_id(owner, page_id, day)]).get(notice_id(owner, page_id, day))
        if not record:
            return Notice()
        return Notice(
            channel=str(record.get("channel", "")),
            ts=str(record.get("ts", "")),
            user_id=str(record.get("user_id", "")),
            items=tuple(json.loads(str(record.get("items", "[]")))),
        )

    def put(self, *, owner: str, page_id: str, day: date, notice: Notice) -> None:
        self._records.put(
            {
                notice_id(owner, page_id, day): {
                    "channel": notice.channel,
                    "ts": notice.ts,
                    "user_id": notice.user_id,
                    "items": json.dumps(list(notice.items)),
                }
            }
        )


def notice_id(owner: str, page_id: str, day: date) -> str:
    return hashlib.sha256(f"{owner}\x1f{page_id}\x1f{day.isoformat()}".encode()).hexdigest()[:32]
