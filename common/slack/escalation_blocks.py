"""The knowledge admins' message about a page, and what it turns into once one of them acts.

The admin channel is shared, so a restricted page appears by id only (its title, and its URL, which
carries the title, stay out), as in the analytics report.
"""

from __future__ import annotations

from typing import Any

from common.errors import InvalidInteraction
from common.slack.answer_blocks import escape_mrkdwn
from common.slack.block_kit import button, context, section
from common.slack.feedback_blocks import REVIEWED_ACTION
from common.store.chunk import ChunkMetadata

ESCALATION_PREFIX = "kb_escalation_"
ASSIGN_ACTION = "kb_escalation_assign"
ARCHIVE_ACTION = "kb_escalation_archive"
RESTORE_ACTION = "kb_escalation_restore"
DISMISS_ACTION = "kb_escalation_dismiss"
ACTIONS_BLOCK_PREFIX = "kb_escalation:"
"""The actions block's id carries the page id: a user picker has no value of its own."""

REASONS = {
    "negative_reports": "People keep reporting this page",
    "owner_unreachable": "This page's owner cannot be reached",
}


def page_label(page: ChunkMetadata) -> str:
    if page.restricted:
        return f"Restricted page {page.page_id}"
    return f"<{page.url}|{escape_mrkdwn(page.page_title)}>"


def escalation_blocks(page: ChunkMetadata, *, reason: str, detail: str) -> list[dict[str, Any]]:
    return [
        section(f":rotating_light: *{REASONS.get(reason, reason)}*: {page_label(page)}"),
        context(f"{escape_mrkdwn(detail)} · space {page.space_key} · owner {escape_mrkdwn(page.owner)}"),
        {
            "type": "actions",
            "block_id": f"{ACTIONS_BLOCK_PREFIX}{page.page_id}",
            "elements": [
                button("Mark reviewed", REVIEWED_ACTION, page.page_id, style="primary"),
                {
                    "type": "users_select",
                    "action_id": ASSIGN_ACTION,
                    "placeholder": {"type": "plain_text", "text": "Assign a new owner"},
                },
                {
                    **button("Hide from answers", ARCHIVE_ACTION, page.page_id, style="danger"),
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Hide this page?"},
                        "text": {
                            "type": "mrkdwn",
                            "text": "No answer or search will use it until someone restores it here.",
                        },
                        "confirm": {"type": "plain_text", "text": "Hide it"},
                        "deny": {"type": "plain_text", "text": "Cancel"},
                    },
                },
                button("Dismiss", DISMISS_ACTION, page.page_id),
            ],
        },
    ]


def decided_blocks(page: ChunkMetadata | None, page_id: str, outcome: str) -> list[dict[str, Any]]:
    """The message after an admin acted: what happened, and the way back when the page was hidden."""
    label = page_label(page) if page is not None else f"page {page_id}"
    blocks = [section(f"{label}: {outcome}")]
    if page is not None and page.archived:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"{ACTIONS_BLOCK_PREFIX}{page_id}",
                "elements": [button("Restore to answers", RESTORE_ACTION, page_id, style="primary")],
            }
        )
    return blocks


def page_id_of(action: dict[str, Any]) -> str:
    """A button carries the page id as its value; the user picker in its block's id."""
    value = action.get("value") or str(action.get("block_id", "")).removeprefix(ACTIONS_BLOCK_PREFIX)
    if not isinstance(value, str) or not value or value.startswith("kb_"):
        raise InvalidInteraction("An escalation action names no page.")
    return value
