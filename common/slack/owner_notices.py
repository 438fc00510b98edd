"""Telling page owners, in Slack, that people found a problem with their content.

An owner hears at most one message per page per day: the first problem posts a DM, later ones that day
update the same message (a digest), so a busy page does not flood anyone. The digest and each problem in it
live in the `notices` companion (`common.store.notices`), so every instance updates the same message.

- The day's first message is posted by whichever instance claims the digest (`common.infra.claims`, created
  only if absent): two instances hearing of the page's first problems at once send one message.
- A message Slack refuses even after slack_sdk's own retries (or one another instance was posting at that
  moment) is left `pending` and delivered by a later run: the next notice, or the daily quality job
  (`deliver_pending`). Every delivery renders all the problems stored so far, so none is lost from it.
- Owners are found on Slack by email; one who cannot be found is reported (a warning log, an
  `owner_unreachable` event and an escalation to the knowledge admins), never silently skipped, and not
  retried: no delivery can reach them.
- A digest names its page, so for a restricted page it goes only to an owner Confluence lets read it:
  an owner it does not is reported unreachable like one Slack cannot find; when their access cannot be
  checked now, the digest waits (pending) for a later run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from common.errors import ServiceUnavailable, SlackUserNotFound
from common.events.model import OwnerNotified, OwnerUnreachable
from common.events.publishers import EventPublisher
from common.infra.claims import Claim, Claims
from common.logs import get_logger
from common.permissions.access import Access
from common.quality.escalation import Escalations
from common.quality.notices import Problem
from common.slack.client import slack_user_id
from common.slack.feedback_blocks import owner_digest_blocks
from common.store.access import may_read
from common.store.chunk import ChunkMetadata
from common.store.chunk_store import ChunkStore
from common.store.notices import Digest, NoticeItem, NoticeStore

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
        claims: Claims,
        owner_access: Callable[[str], Access],
        escalations: Escalations | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._escalations = escalations
        self._owner_access = owner_access
        self._store = store
        self._notices = NoticeStore(store)
        self._slack = slack
        self._publisher = publisher
        self._claims = claims
        self._clock = clock

    def notify(self, problem: Problem) -> None:
        """Record the problem in today's digest for the page's owner and bring the message up to date.
        Slack failures are logged and left for a later run, never raised: the problem is already recorded
        as a vote and shows in `kb review-queue`."""
        page = self._page(problem.page_id)
        if page is None:
            log.info("owner_notice_for_deleted_page", page_id=problem.page_id)
            return
        digest = self._notices.digest(owner=page.owner, page_id=problem.page_id, day=self._clock().date())
        self._notices.add_item(
            digest,
            NoticeItem(
                kind=problem.kind,
                question=problem.question[:200],
                comment=problem.comment[:500],
                at=self._clock(),
            ),
        )
        if self._deliver(digest, page, reason=problem.kind):
            self.deliver_pending()  # Slack just answered: a good moment for what it refused before

    def deliver_pending(self) -> int:
        """Deliver every digest a previous run left behind its items; returns how many are now up to date."""
        delivered = 0
        for digest in self._notices.pending():
            page = self._page(digest.page_id)
            if page is None:
                self._notices.clear_pending(digest)
                continue
            delivered += self._deliver(digest, page, reason="retry")
        return delivered

    def _deliver(self, digest: Digest, page: ChunkMetadata, *, reason: str) -> bool:
        """Bring Slack's message up to date with every item stored so far; True when it is."""
        digest = self._notices.digest(owner=digest.owner, page_id=digest.page_id, day=digest.day)
        items = self._notices.items(digest)
        if page.restricted:
            access = self._owner_access(digest.owner)
            if access.status == "unavailable":
                log.warning("owner_notice_waits_for_permissions", owner=digest.owner, page_id=digest.page_id)
                self._notices.mark_pending(digest)
                return False
            if not may_read(access.reader, page.read_rules):
                return self._unreachable(digest, reason, "the owner may not read the restricted page")
        try:
            if digest.posted:
                self._slack.chat_update(channel=digest.channel, ts=digest.ts, **_message(page, digest, items))
            elif not self._post_first(digest, page, items, reason=reason):
                self._notices.mark_pending(digest)
                return False
        except SlackUserNotFound as exc:
            return self._unreachable(digest, reason, str(exc))
        except (SlackClientError, ServiceUnavailable) as exc:
            log.error("owner_notice_not_sent_yet", owner=digest.owner, page_id=digest.page_id, error=str(exc))
            self._notices.mark_pending(digest)
            return False
        if len(self._notices.items(digest)) > len(items):
            self._notices.mark_pending(digest)  # a problem arrived while the message was being sent
        else:
            self._notices.clear_pending(digest)
        return True

    def _unreachable(self, digest: Digest, reason: str, error: str) -> bool:
        log.warning("owner_unreachable", owner=digest.owner, page_id=digest.page_id, error=error)
        self._notices.clear_pending(digest)
        self._publisher.publish(
            [OwnerUnreachable(owner=digest.owner, page_id=digest.page_id, reason=reason, error=error)]
        )
        if self._escalations is not None:
            self._escalations.escalate(
                digest.page_id, reason="owner_unreachable", detail=f"{digest.owner}: {error}"
            )
        return False

    def _post_first(
        self, digest: Digest, page: ChunkMetadata, items: list[NoticeItem], *, reason: str
    ) -> bool:
        """Only the instance that claims the digest posts the day's first message; False when another one
        is posting it right now (its message may miss the newest items, so the caller marks it pending)."""
        if self._claims.claim(digest.id) is not Claim.TAKEN:
            return False
        try:
            user_id = slack_user_id(self._slack, digest.owner)
            posted = self._slack.chat_postMessage(channel=user_id, **_message(page, digest, items))
        except (SlackClientError, SlackUserNotFound):
            self._claims.release(digest.id)
            raise
        self._notices.save_posted(
            replace(digest, channel=str(posted["channel"]), ts=str(posted["ts"]), user_id=user_id)
        )
        self._claims.complete(digest.id)
        self._publisher.publish(
            [OwnerNotified(owner=digest.owner, page_id=digest.page_id, reason=reason, slack_user_id=user_id)]
        )
        return True

    def _page(self, page_id: str) -> ChunkMetadata | None:
        pages = self._store.get_metadata(where={"page_id": page_id})
        return next(iter(pages.values())) if pages else None


def _message(page: ChunkMetadata, digest: Digest, items: list[NoticeItem]) -> dict[str, Any]:
    shown = [item.as_dict() for item in items][-MAX_ITEMS_SHOWN:]
    return {
        "text": f"People reported a problem with your page {page.page_title}",
        "blocks": owner_digest_blocks(
            page_title=page.page_title, page_url=page.url, page_id=digest.page_id, items=shown
        ),
    }
