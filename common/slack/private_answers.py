"""`/kb QUESTION`: an answer only the asker sees, wherever they type it; `/kb help` (or `/kb` alone) says what
the bot does.

The reply is ephemeral (through the command's `response_url`), so it is written from the asker's own access
and under the direct-message ceiling, as in a DM: nobody else in the channel can see it. Slack wants the
command acknowledged within 3 seconds, so the acknowledgement says the answer is coming and the answer is
written after it. Every outcome reaches the asker: the answer, "not found", or an apology when the
knowledge base is down. It is recorded in analytics like any other question (source `slash_command`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from common.answers.composer import ComposedAnswer
from common.answers.records import answer_events
from common.errors import InvalidInteraction, KbError
from common.events.publishers import EventPublisher
from common.infra.http_reply import HttpReply
from common.logs import get_logger
from common.permissions.access import Access
from common.slack.account_links import AccountLinks
from common.slack.answer_blocks import answer_message
from common.slack.document_flow import Later

log = get_logger(__name__)

ASK_COMMAND = "/kb"
HELP_TEXT = (
    "*What I do*\n"
    "• Mention me in a channel, or write to me directly, and I answer from the company's Confluence, citing"
    " my sources. Reply in the thread to follow up.\n"
    "• `/kb your question`: an answer only you can see, from what you may read.\n"
    "• Rate an answer with its buttons, or report a problem: page owners hear of it, and answers improve.\n"
    "• `/kb-add`: save a piece of knowledge. `/kb-doc`: write a document for approval.\n"
    "• `/kb-unlink`: unlink your Confluence account."
)
WORKING_TEXT = ":mag: Looking that up for you…"
SORRY = "Sorry, I couldn't answer that just now: the knowledge base is having trouble. Please try again soon."

Compose = Callable[[str, Access], ComposedAnswer]
"""Search and write an answer to the question from what `Access` may read, under the DM ceiling."""
Reply = Callable[[str, str, list[dict[str, Any]]], None]
"""(response_url, text, blocks): an ephemeral message to the asker."""


class PrivateAnswers:
    def __init__(
        self,
        *,
        compose: Compose,
        access_of: Callable[[str], Access],
        links: AccountLinks,
        publisher: EventPublisher,
        later: Later,
        reply: Reply,
    ) -> None:
        self._compose = compose
        self._access_of = access_of
        self._links = links
        self._publisher = publisher
        self._later = later
        self._reply = reply

    def command(self, form: Mapping[str, str]) -> HttpReply:
        question = form.get("text", "").strip()
        if question.lower() in ("", "help"):
            return HttpReply(200, {"response_type": "ephemeral", "text": HELP_TEXT})
        user_id, response_url = form.get("user_id", ""), form.get("response_url", "")
        if not user_id or not response_url:
            raise InvalidInteraction("The /kb command names no user or has no response_url to answer on.")
        command_id = form.get("trigger_id") or uuid.uuid4().hex
        self._later(lambda: self._answer(question, user_id=user_id, url=response_url, question_id=command_id))
        return HttpReply(200, {"response_type": "ephemeral", "text": WORKING_TEXT})

    def _answer(self, question: str, *, user_id: str, url: str, question_id: str) -> None:
        started = time.perf_counter()
        try:
            access = self._access_of(user_id)
            composed = self._compose(question, access)
        except KbError as exc:
            log.error("private_answer_failed", user_id=user_id, error=str(exc))
            self._reply(url, SORRY, [])
            return
        answer_id = uuid.uuid4().hex
        self._publisher.publish(
            answer_events(
                composed,
                question_id=question_id,
                answer_id=answer_id,
                user_id=user_id,
                channel_type="im",
                question=question,
                latency_ms=(time.perf_counter() - started) * 1000,
                source="slash_command",
            )
        )
        notice = self._links.blocks(access, user_id)
        text, blocks = answer_message(composed, answer_id=answer_id, question=question, notice=notice)
        self._reply(url, text, blocks)
        log.info("private_answer_sent", answer_id=answer_id, found=composed.found)
