"""Telling page owners, in Slack, that people found a problem with their content.

An owner hears at most one message per page per day: the first problem posts a DM, later ones that day
update the same message (a digest), so a busy page does not flood anyone. The day's digest lives in the
`notices` companion (`common.store.notices`), so every instance updates the same message. Owners are found
on Slack by email; one who cannot be found is reported (a warning log and an `owner_unreachable` event),
never silently skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from common.errors import SlackUserNotFound
from common.events.model import OwnerNotified, OwnerUnreachable
from common.events.publishers import EventPublisher
from common.logs import get_logger
from common.quality.notices import Problem
from common.slack.feedback_blocks import owner_digest_blocks
from common.store.chunk_store import ChunkStore
from common.store.notices import Notice, NoticeStore

log = get_logger(__name__)

MAX_ITEMS_SHOWN = 20


class SlackOwnerNotices:
    """`common.quality.notices.OwnerNotices` as Slack DMs, one digest per owner, page and day."""

    def __init__(
        self,
        *,
        store: ChunkStore,
        slack: WebClient,
        publisher: EventPublisher,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._notices = NoticeStore(store)
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
        day = self._clock().date()
        notice = self._notices.get(owner=owner, page_id=problem.page_id, day=day)
        items = [*notice.items, _item(problem)][-MAX_ITEMS_SHOWN:]
        blocks = owner_digest_blocks(
            page_title=page.page_title, page_url=page.url, page_id=problem.page_id, items=items
        )
        text = f"People reported a problem with your page {page.page_title}"
        try:
            if notice.posted:
                self._slack.chat_update(channel=notice.channel, ts=notice.ts, text=text, blocks=blocks)
                channel, ts, user_id = notice.channel, notice.ts, notice.user_id
            else:
                user_id = self._slack_user(owner)
                posted = self._slack.chat_postMessage(channel=user_id, text=text, blocks=blocks)
                channel, ts = str(posted["channel"]), str(posted["ts"])
        except SlackUserNotFound as exc:
            log.warning("owner_unreachable", owner=owner, page_id=problem.page_id, error=str(exc))
            self._publisher.publish(
                [OwnerUnreachable(owner=owner, page_id=problem.page_id, reason=problem.kind, error=str(exc))]
            )
            return
        except SlackClientError as exc:
            log.error("owner_notice_failed", owner=owner, page_id=problem.page_id, error=str(exc))
            return
        self._notices.put(
            owner=owner,
            page_id=problem.page_id,
            day=day,
            notice=Notice(channel=channel, ts=ts, user_id=user_id, items=tuple(items)),
        )
        self._publisher.publish(
            [OwnerNotified(owner=owner, page_id=problem.page_id, reason=problem.kind, slack_user_id=user_id)]
        )

    def _slack_user(self, owner: str) -> str:
        if "@" not in owner:
            raise SlackUserNotFound(f"owner {owner!r} has no email address to find them on Slack by")
        try:
            found = self._slack.users_lookupByEmail(email=owner)
        except SlackApiError as exc:
            if exc.response.get("error") == "users_not_found":
                raise SlackUserNotFound(f"no Slack user has the email {owner}") from exc
            raise
        return str(found["user"]["id"])


def _item(problem: Problem) -> dict[str, str]:
    return {"kind": problem.kind, "question": problem.question[:200], "comment": problem.comment[:500]}
