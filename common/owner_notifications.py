"""Telling page owners, in Slack, that people found a problem with their content.

An owner hears at most one message per page per day: the first problem posts a DM, later ones that day
update the same message (a digest), so a busy page does not flood anyone. The day's digest lives in a
companion collection (`<collection>-notices`), keyed by owner, page and day, so every instance updates the
same message. Owners are found on Slack by email; one who cannot be found is reported (a warning log and an
`owner_unreachable` event), never silently skipped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from common.errors import KbError
from common.events import EventPublisher, OwnerNotified, OwnerUnreachable
from common.logs import get_logger
from common.slack.feedback_blocks import owner_digest_blocks
from common.vectorstore import ChunkStore, companion_embeddings

log = get_logger(__name__)

NOTICES_SUFFIX = "-notices"
MAX_ITEMS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class Problem:
    page_id: str
    kind: str
    """A vote kind, or `low_quality` when a page's score fell under the alert threshold."""
    question: str = ""
    comment: str = ""


class OwnerNotifier:
    def __init__(
        self,
        *,
        store: ChunkStore,
        slack: WebClient,
        publisher: EventPublisher,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._slack = slack
        self._publisher = publisher
        self._clock = clock

    def notify(self, problem: Problem) -> None:
        """Post or update today's digest for the page's owner. Slack failures are logged, not raised:
        the problem is already recorded as a vote and shows in `kb review-queue`."""
        pages = self._store.get_metadata(where={"page_id": problem.page_id})
        if not pages:
            log.info("owner_notice_for_deleted_page", page_id=problem.page_id)
            return
        page = next(iter(pages.values()))
        owner = page.owner
        notice_id = _notice_id(owner, problem.page_id, self._clock())
        notice = self._get_notice(notice_id)
        items = [*json.loads(str(notice.get("items", "[]"))), _item(problem)][-MAX_ITEMS_SHOWN:]
        blocks = owner_digest_blocks(
            page_title=page.page_title, page_url=page.url, page_id=problem.page_id, items=items
        )
        text = f"People reported a problem with your page {page.page_title}"
        try:
            if notice.get("ts"):
                self._slack.chat_update(
                    channel=str(notice["channel"]), ts=str(notice["ts"]), text=text, blocks=blocks
                )
                channel, ts, user_id = str(notice["channel"]), str(notice["ts"]), str(notice["user_id"])
            else:
                user_id = self._slack_user(owner)
                posted = self._slack.chat_postMessage(channel=user_id, text=text, blocks=blocks)
                channel, ts = str(posted["channel"]), str(posted["ts"])
        except _Unreachable as exc:
            log.warning("owner_unreachable", owner=owner, page_id=problem.page_id, error=str(exc))
            self._publisher.publish(
                [OwnerUnreachable(owner=owner, page_id=problem.page_id, reason=problem.kind, error=str(exc))]
            )
            return
        except SlackClientError as exc:
            log.error("owner_notice_failed", owner=owner, page_id=problem.page_id, error=str(exc))
            return
        self._put_notice(
            notice_id, {"channel": channel, "ts": ts, "user_id": user_id, "items": json.dumps(items)}
        )
        self._publisher.publish(
            [OwnerNotified(owner=owner, page_id=problem.page_id, reason=problem.kind, slack_user_id=user_id)]
        )

    def _slack_user(self, owner: str) -> str:
        if "@" not in owner:
            raise _Unreachable(f"owner {owner!r} has no email address to find them on Slack by")
        try:
            found = self._slack.users_lookupByEmail(email=owner)
        except SlackApiError as exc:
            if exc.response.get("error") == "users_not_found":
                raise _Unreachable(f"no Slack user has the email {owner}") from exc
            raise
        return str(found["user"]["id"])

    def _get_notice(self, notice_id: str) -> dict[str, Any]:
        result = self._store.on_companion(
            NOTICES_SUFFIX, "get_notice", lambda col: col.get(ids=[notice_id], include=["metadatas"])
        )
        metadatas = result.get("metadatas") or []
        return dict(metadatas[0] or {}) if metadatas else {}

    def _put_notice(self, notice_id: str, record: dict[str, str]) -> None:
        self._store.on_companion(
            NOTICES_SUFFIX,
            "put_notice",
            lambda col: col.upsert(
                ids=[notice_id],
                embeddings=companion_embeddings(1),
                metadatas=[record],
            ),
        )


class _Unreachable(KbError):
    pass


def _notice_id(owner: str, page_id: str, now: datetime) -> str:
    return hashlib.sha256(f"{owner}\x1f{page_id}\x1f{now.date().isoformat()}".encode()).hexdigest()[:32]


def _item(problem: Problem) -> dict[str, str]:
    return {"kind": problem.kind, "question": problem.question[:200], "comment": problem.comment[:500]}
