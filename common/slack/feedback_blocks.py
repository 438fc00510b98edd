"""The Block Kit the feedback flow puts in Slack, and the one parser for what comes back from it.

Every answer carries an `AnswerRef` in its buttons' `value` (JSON, under Slack's 2,000-character limit):
which answer, which chunks it cited (with their pages) and the question, so a click can be counted without
any lookup and an owner can be told what was asked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from common.errors import InvalidInteraction
from common.slack.block_kit import button
from common.store.votes import VoteKind

FEEDBACK_BLOCK_ID = "kb_feedback"
VOTE_ACTION_PREFIX = "kb_vote_"
REPORT_ACTION = "kb_report_problem"
REVIEWED_ACTION = "kb_mark_reviewed"
SOURCE_LINK_ACTION = "kb_source_link"
PROBLEM_MODAL = "kb_problem_modal"
PROBLEM_KIND_BLOCK = "kind"
PROBLEM_KIND_ACTION = "kind_choice"
CORRECTION_BLOCK = "correction"
CORRECTION_ACTION = "correction_text"
MAX_VALUE_CHARS = 2000
QUESTION_CHARS_IN_VALUE = 300

THANKS: dict[VoteKind, str] = {
    "helpful": "Thanks, glad it helped. Your vote makes this answer rank higher for others.",
    "not_helpful": "Thanks for telling us. Less useful passages now rank lower.",
    "outdated": "Thanks. The page owner has been told it is out of date.",
    "incorrect": "Thanks. The page owner has been told it is wrong.",
}


@dataclass(frozen=True, slots=True)
class AnswerRef:
    answer_id: str
    question: str
    cited: tuple[tuple[str, str], ...]
    """(chunk_id, page_id) of every chunk the answer cited."""

    def to_value(self) -> str:
        question = self.question[:QUESTION_CHARS_IN_VALUE]
        value = json.dumps({"a": self.answer_id, "q": question, "c": [list(pair) for pair in self.cited]})
        if len(value) > MAX_VALUE_CHARS:
            raise ValueError(f"answer {self.answer_id} cites too many chunks for one button value")
        return value

    @classmethod
    def from_value(cls, value: str) -> AnswerRef:
        try:
            data = json.loads(value)
            cited = tuple((str(chunk), str(page)) for chunk, page in data["c"])
            ref = cls(answer_id=str(data["a"]), question=str(data.get("q", "")), cited=cited)
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInteraction(
                f"The feedback button's value is not an answer reference: {exc}"
            ) from exc
        if not ref.answer_id or not ref.cited:
            raise InvalidInteraction("The feedback button's answer reference names no answer or no chunks.")
        return ref


def feedback_actions(ref: AnswerRef) -> dict[str, Any]:
    """The buttons under an answer: two one-click votes and a report that opens the details modal."""
    value = ref.to_value()
    return {
        "type": "actions",
        "block_id": FEEDBACK_BLOCK_ID,
        "elements": [
            button("👍 Helpful", f"{VOTE_ACTION_PREFIX}helpful", value, style="primary"),
            button("👎 Not helpful", f"{VOTE_ACTION_PREFIX}not_helpful", value),
            button("⚠️ Report a problem", REPORT_ACTION, value),
        ],
    }


def thanks_blocks(original: list[dict[str, Any]], kind: VoteKind, user_id: str) -> list[dict[str, Any]]:
    """The answer as it was, with its feedback buttons replaced by a thank-you."""
    kept = [block for block in original if block.get("block_id") != FEEDBACK_BLOCK_ID]
    note = {"type": "mrkdwn", "text": f"<@{user_id}>: {THANKS[kind]}"}
    return [*kept, {"type": "context", "elements": [note]}]


def problem_modal(ref: AnswerRef, *, channel_id: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": PROBLEM_MODAL,
        "private_metadata": json.dumps({"ref": ref.to_value(), "channel": channel_id}),
        "title": {"type": "plain_text", "text": "Report a problem"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": PROBLEM_KIND_BLOCK,
                "label": {"type": "plain_text", "text": "What is wrong?"},
                "element": {
                    "type": "radio_buttons",
                    "action_id": PROBLEM_KIND_ACTION,
                    "options": [
                        _option("It is out of date", "outdated"),
                        _option("It is incorrect", "incorrect"),
                        _option("It does not answer my question", "not_helpful"),
                    ],
                },
            },
            {
                "type": "input",
                "block_id": CORRECTION_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "What should it say? (goes to the page owner)"},
                "element": {"type": "plain_text_input", "action_id": CORRECTION_ACTION, "multiline": True},
            },
        ],
    }


def owner_digest_blocks(
    *, page_title: str, page_url: str, page_id: str, items: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """One message per page per owner per day, updated as more problems arrive that day."""
    lines = [
        f"• *{item['kind'].replace('_', ' ')}* on “{item['question'] or 'an answer'}”"
        + (f"\n   _{item['comment']}_" if item.get("comment") else "")
        for item in items
    ]
    count = f"{len(items)} problem{'s' if len(items) != 1 else ''}"
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"People reported {count} today with your page <{page_url}|{page_title}>:",
            },
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {
            "type": "actions",
            "block_id": "kb_review",
            "elements": [button("Mark as reviewed", REVIEWED_ACTION, page_id, style="primary")],
        },
    ]


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}
