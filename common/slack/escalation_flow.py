"""Escalations in Slack: the admins' message about a page, and what their buttons do.

`SlackEscalations` posts one message per page, reason and day to `KNOWLEDGE_ADMIN_CHANNEL` (claimed first,
so instances racing on the same page send one). `EscalationFlow` handles its actions after Slack has been
answered: hide the page from answers or restore it, give it a new owner picked from Slack's user list, or
dismiss the message; "Mark reviewed" is the owners' review button and goes through the feedback service.
The actions only work in the admin channel itself: anyone else who got hold of a message's payload cannot
hide pages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient

from common.errors import InvalidInteraction, KbError
from common.events.model import PageEscalated
from common.events.publishers import EventPublisher
from common.logs import get_logger
from common.quality.page_decisions import PageDecisions
from common.slack.admin_channel import AdminChannel
from common.slack.client import email_of
from common.slack.document_flow import Later
from common.slack.escalation_blocks import (
    ARCHIVE_ACTION,
    ASSIGN_ACTION,
    DISMISS_ACTION,
    REASONS,
    RESTORE_ACTION,
    decided_blocks,
    escalation_blocks,
    page_id_of,
    page_label,
)
from common.slack.payload import object_field
from common.store.chunk import ChunkMetadata
from common.store.chunk_store import ChunkStore

log = get_logger(__name__)

ReplaceMessage = Callable[[str, str, list[dict[str, Any]]], None]
"""(response_url, text, blocks): replace the message the action came from."""


def _page(store: ChunkStore, page_id: str) -> ChunkMetadata | None:
    pages = store.get_metadata(where={"page_id": page_id})
    return next(iter(pages.values())) if pages else None


class SlackEscalations:
    """`common.quality.escalation.Escalations` as a message with actions in the admins' channel."""

    def __init__(
        self,
        *,
        admin: AdminChannel,
        store: ChunkStore,
        publisher: EventPublisher,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._admin = admin
        self._store = store
        self._publisher = publisher
        self._clock = clock

    def escalate(self, page_id: str, *, reason: str, detail: str) -> None:
        page = _page(self._store, page_id)
        if page is None:
            log.info("escalation_for_deleted_page", page_id=page_id, reason=reason)
            return
        key = f"escalation/{page_id}/{reason}/{self._clock().date().isoformat()}"
        try:
            ts = self._admin.post_once(
                key,
                text=f"{REASONS.get(reason, reason)}: {page_label(page)}",
                blocks=escalation_blocks(page, reason=reason, detail=detail),
            )
        except KbError as exc:
            log.error("escalation_not_sent", page_id=page_id, reason=reason, error=str(exc))
            return
        if ts is None:
            return
        log.info("page_escalated", page_id=page_id, reason=reason)
        self._publisher.publish(
            [PageEscalated(page_id=page_id, reason=reason, action="posted", detail=detail)]
        )


class EscalationFlow:
    def __init__(
        self,
        *,
        decisions: PageDecisions,
        store: ChunkStore,
        slack: WebClient,
        publisher: EventPublisher,
        admin_channel: str,
        later: Later,
        replace: ReplaceMessage,
    ) -> None:
        self._decisions = decisions
        self._store = store
        self._slack = slack
        self._publisher = publisher
        self._admin_channel = admin_channel
        self._later = later
        self._replace = replace

    def action(self, payload: dict[str, Any], action: dict[str, Any], user_id: str) -> None:
        if object_field(payload, "channel").get("id") != self._admin_channel:
            raise InvalidInteraction("Escalation actions work only in the knowledge admins' channel.")
        page_id = page_id_of(action)
        action_id = str(action.get("action_id", ""))
        if action_id not in (ARCHIVE_ACTION, RESTORE_ACTION, ASSIGN_ACTION, DISMISS_ACTION):
            raise InvalidInteraction(f"Unknown escalation action {action_id!r}.")
        response_url = str(payload.get("response_url") or "")
        self._later(
            lambda: self._apply(action_id, action, page_id=page_id, user_id=user_id, url=response_url)
        )

    def _apply(self, action_id: str, action: dict[str, Any], *, page_id: str, user_id: str, url: str) -> None:
        try:
            kind, outcome = self._decide(action_id, action, page_id=page_id, user_id=user_id)
        except KbError as exc:
            log.error("escalation_action_failed", page_id=page_id, action=action_id, error=str(exc))
            kind, outcome = "failed", f"could not be changed: {exc} Try again in a minute."
        if kind != "failed":
            self._publisher.publish(
                [PageEscalated(page_id=page_id, reason="", action=kind, actor=user_id, detail=outcome)]
            )
        if url:
            page = _page(self._store, page_id)
            self._replace(url, outcome, decided_blocks(page, page_id, outcome))

    def _decide(
        self, action_id: str, action: dict[str, Any], *, page_id: str, user_id: str
    ) -> tuple[str, str]:
        if action_id == ARCHIVE_ACTION:
            self._decisions.archive(page_id)
            return "archived", f"hidden from answers by <@{user_id}>."
        if action_id == RESTORE_ACTION:
            self._decisions.restore(page_id)
            return "restored", f"restored to answers by <@{user_id}>."
        if action_id == DISMISS_ACTION:
            return "dismissed", f"dismissed by <@{user_id}>."
        chosen = action.get("selected_user")
        if not isinstance(chosen, str) or not chosen:
            raise InvalidInteraction("The owner picker sent no user.")
        email = email_of(self._slack, chosen)
        if email is None:
            return (
                "failed",
                f"not reassigned: <@{chosen}> has no email Slack shows, so Confluence cannot match them.",
            )
        self._decisions.assign_owner(page_id, email)
        return "reassigned", f"now owned by {email} (assigned by <@{user_id}>)."
