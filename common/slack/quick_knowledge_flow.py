"""Saving knowledge from Slack: the "Save to knowledge base" message shortcut and `/kb-add` open a modal;
submitting it writes the entry to Chroma.

The modal must open within the trigger's 3 seconds, and embedding (on a cold instance, loading the model)
can take longer than Slack waits for a submission, so the write happens right after the modal closes and
the author gets a message when the entry is searchable, or what went wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any, cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from common.errors import KbError
from common.infra.http_reply import HttpReply
from common.ingestion.indexer import Indexer
from common.ingestion.quick_knowledge import QuickEntry, save_entry
from common.logs import get_logger
from common.slack.payload import modal_metadata, object_field
from common.store.chunk import CLASSIFICATIONS, Classification

log = get_logger(__name__)

MODAL = "kb_quick_knowledge"
SHORTCUT = "kb_save_message"
SLASH_COMMAND = "/kb-add"


def quick_knowledge_modal(*, text: str, link: str, channel: str, space_key: str) -> dict[str, Any]:
    def field(
        block_id: str, label: str, element: dict[str, Any], *, optional: bool = False
    ) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block_id,
            "optional": optional,
            "label": {"type": "plain_text", "text": label},
            "element": {"action_id": "value", **element},
        }

    options = [{"text": {"type": "plain_text", "text": c}, "value": c} for c in CLASSIFICATIONS]
    return {
        "type": "modal",
        "callback_id": MODAL,
        "private_metadata": json.dumps({"link": link, "channel": channel}),
        "title": {"type": "plain_text", "text": "Save to knowledge base"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            field("title", "Title", {"type": "plain_text_input", "max_length": 150}),
            field(
                "text", "Text", {"type": "plain_text_input", "multiline": True, "initial_value": text[:3000]}
            ),
            field("space", "Space", {"type": "plain_text_input", "initial_value": space_key}),
            field("topics", "Topics (comma-separated)", {"type": "plain_text_input"}, optional=True),
            field(
                "classification",
                "Who may see it",
                {"type": "static_select", "options": options, "initial_option": options[1]},
            ),
        ],
    }


class QuickKnowledgeFlow:
    def __init__(
        self,
        *,
        slack: WebClient,
        indexer: Callable[[], Indexer],
        space_key: str,
        later: Callable[[Callable[[], None]], None],
    ) -> None:
        self._slack = slack
        self._indexer = cache(indexer)
        self._space_key = space_key
        self._later = later

    def open(self, *, trigger_id: str, text: str, link: str, channel: str) -> None:
        view = quick_knowledge_modal(text=text, link=link, channel=channel, space_key=self._space_key)
        try:
            self._slack.views_open(trigger_id=trigger_id, view=view)
        except SlackClientError as exc:
            log.error("quick_knowledge_modal_not_opened", error=str(exc))

    def submit(self, payload: dict[str, Any], *, author_email: str, author_name: str) -> HttpReply:
        view = object_field(payload, "view")
        values = object_field(object_field(view, "state"), "values")
        meta = modal_metadata(view, "save")

        def value(block: str) -> str:
            entry = object_field(object_field(values, block), "value")
            selected = object_field(entry, "selected_option")
            return str(entry.get("value") or selected.get("value") or "").strip()

        errors = {name: "Required." for name in ("title", "text", "space") if not value(name)}
        classification = value("classification") or "internal"
        if classification not in CLASSIFICATIONS:
            errors["classification"] = f"One of {', '.join(CLASSIFICATIONS)}."
        if errors:
            return HttpReply(200, {"response_action": "errors", "errors": errors})
        user_id = str(object_field(payload, "user").get("id", ""))
        entry = QuickEntry(
            title=value("title"),
            text=value("text"),
            space_key=value("space").upper(),
            topics=tuple(t.strip().lower() for t in value("topics").split(",") if t.strip()),
            classification=cast(Classification, classification),
            author_email=author_email,
            author_name=author_name or user_id,
            link=str(meta.get("link") or ""),
        )
        channel = str(meta.get("channel") or user_id)
        self._later(lambda: self._save(entry, channel=channel, user_id=user_id))
        return HttpReply(200)

    def _save(self, entry: QuickEntry, *, channel: str, user_id: str) -> None:
        try:
            outcome = save_entry(self._indexer(), entry)
            text = (
                f"Saved “{entry.title}” to the knowledge base "
                f"({outcome.chunks_written} passages): searchable now."
            )
            log.info("quick_knowledge_saved", page_id=entry.page_id, chunks=outcome.chunks_written)
        except KbError as exc:
            text = f"Sorry, “{entry.title}” was not saved: {exc}"
            log.error("quick_knowledge_failed", page_id=entry.page_id, error=str(exc))
        try:
            self._slack.chat_postEphemeral(channel=channel, user=user_id, text=text)
        except SlackClientError as exc:
            log.warning("quick_knowledge_reply_failed", error=str(exc))
