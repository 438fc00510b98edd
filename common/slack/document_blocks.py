"""The Block Kit of documents: the modals people write and revise in, and the messages approvers decide on.

Every button and modal carries only ids (`DocRef`: the document and the version it concerns), parsed back
strictly, so a click can never act on another version than the one its message showed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from common.documents.model import DOC_TYPES, Area, Document, DocumentVersion
from common.errors import InvalidInteraction
from common.slack.answer_blocks import escape_mrkdwn, split_text
from common.slack.block_kit import button, context
from common.store.chunk import CLASSIFICATIONS

START_MODAL = "kb_doc_start"
DRAFT_MODAL = "kb_doc_draft"
DECISION_MODAL = "kb_doc_decision"
REVISE_MODAL = "kb_doc_revise"
APPROVE_ACTION = "kb_doc_approve"
CHANGES_ACTION = "kb_doc_request_changes"
REJECT_ACTION = "kb_doc_reject"
REVISE_ACTION = "kb_doc_revise_open"
SLASH_COMMAND = "/kb-doc"
THREAD_SHORTCUT = "kb_thread_to_doc"
PREVIEW_CHARS = 700
DIFF_CHARS = 2500
INPUT_MAX_CHARS = 3000
"""Slack's limit for a plain_text_input's value."""


@dataclass(frozen=True, slots=True)
class DocRef:
    document_id: str
    version: int

    def to_value(self) -> str:
        return json.dumps({"d": self.document_id, "v": self.version})

    @classmethod
    def from_value(cls, value: object) -> DocRef:
        try:
            data = json.loads(str(value))
            ref = cls(document_id=data["d"], version=data["v"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInteraction(f"The document button's value is not ours: {exc}") from exc
        if not isinstance(ref.document_id, str) or not ref.document_id:
            raise InvalidInteraction("The document button names no document.")
        if not isinstance(ref.version, int) or isinstance(ref.version, bool) or ref.version < 1:
            raise InvalidInteraction("The document button names no version.")
        return ref


@dataclass(frozen=True, slots=True)
class DraftFields:
    """What the draft modal shows; every field editable."""

    title: str = ""
    body: str = ""
    area: str = ""
    doc_type: str = "information"
    classification: str = "internal"
    owner_user: str = ""
    """Slack user id."""


def start_modal(*, areas: Sequence[Area], author: str, channel: str) -> dict[str, Any]:
    blocks = [
        _input(
            "title", "Title", _text(max_length=150), optional=True, hint="Left empty, the draft gets one."
        ),
        *_choices(areas, DraftFields(owner_user=author)),
        _input(
            "description",
            "Describe it, and a draft is written for you",
            _text(multiline=True),
            optional=True,
        ),
        _input("body", "…or write the document (Markdown)", _text(multiline=True), optional=True),
    ]
    return _modal(START_MODAL, "New document", blocks, {"channel": channel}, submit="Continue")


def drafting_modal(*, channel: str, source_link: str = "") -> dict[str, Any]:
    """Shown at once while the draft is written; replaced (`views.update`) when it is ready."""
    blocks = [_section(":hourglass_flowing_sand: Writing a first draft… it appears here in a moment.")]
    meta = {"channel": channel, "source_link": source_link}
    return _modal(DRAFT_MODAL, "New document", blocks, meta, submit=None)


def draft_modal(
    *, areas: Sequence[Area], fields: DraftFields, channel: str, source_link: str = "", note: str = ""
) -> dict[str, Any]:
    if len(fields.body) > INPUT_MAX_CHARS:
        cut = f"The draft is longer than a Slack field holds ({INPUT_MAX_CHARS:,} characters): its end is cut"
        note = f"{note}\n{cut}".strip()
    blocks = [
        *([_section(note)] if note else []),
        _input("title", "Title", _text(max_length=150, initial=fields.title)),
        _input("body", "Document (Markdown)", _text(multiline=True, initial=fields.body[:INPUT_MAX_CHARS])),
        *_choices(areas, fields),
    ]
    meta = {"channel": channel, "source_link": source_link}
    return _modal(DRAFT_MODAL, "New document", blocks, meta, submit="Submit")


def decision_modal(ref: DocRef, *, kind: str, title: str) -> dict[str, Any]:
    label = "What should change?" if kind == "request_changes" else "Why is it rejected?"
    blocks = [
        _section(f"*{escape_mrkdwn(title)}* (version {ref.version})"),
        _input("reason", label, _text(multiline=True)),
    ]
    heading = "Request changes" if kind == "request_changes" else "Reject"
    meta = {"d": ref.document_id, "v": ref.version, "k": kind}
    return _modal(DECISION_MODAL, heading, blocks, meta, submit="Send")


def revise_modal(doc: Document, version: DocumentVersion) -> dict[str, Any]:
    blocks = [
        _input("title", "Title", _text(max_length=150, initial=version.title)),
        _input("body", "Document (Markdown)", _text(multiline=True, initial=version.body[:INPUT_MAX_CHARS])),
        _input("note", "What changed, for the approvers", _text(max_length=300)),
    ]
    meta = {"d": doc.id, "v": version.number}
    return _modal(REVISE_MODAL, "Revise document", blocks, meta, submit="Resubmit")


def decision_request_blocks(
    doc: Document, version: DocumentVersion, changes: str, *, reminder: bool = False
) -> list[dict[str, Any]]:
    ref = DocRef(doc.id, version.number)
    lead = "Reminder: still waiting for your decision on" if reminder else "Please review"
    head = (
        f"{lead} the {doc.doc_type} *{escape_mrkdwn(version.title)}* (version {version.number}, area "
        f"{escape_mrkdwn(doc.area)}, {doc.classification}), written by <@{doc.author}>."
    )
    preview = version.body if len(version.body) <= PREVIEW_CHARS else version.body[: PREVIEW_CHARS - 1] + "…"
    blocks: list[dict[str, Any]] = [_section(head)]
    blocks += [_section(piece) for piece in split_text(escape_mrkdwn(preview))]
    if changes:
        shown = changes if len(changes) <= DIFF_CHARS else changes[: DIFF_CHARS - 1] + "…"
        blocks.append(
            _section(f"*What changed since version {version.number - 1}:*\n```{escape_mrkdwn(shown)}```")
        )
    if version.change_note:
        blocks.append(context(f"Change note: {escape_mrkdwn(version.change_note)}"))
    blocks.append(
        {
            "type": "actions",
            "block_id": "kb_doc_decision",
            "elements": [
                button("Approve", APPROVE_ACTION, ref.to_value(), style="primary"),
                button("Request changes", CHANGES_ACTION, ref.to_value()),
                button("Reject", REJECT_ACTION, ref.to_value(), style="danger"),
            ],
        }
    )
    return blocks


def author_blocks(doc: Document, what: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [_section(what)]
    if doc.status == "changes_requested":
        ref = DocRef(doc.id, doc.version)
        blocks.append(
            {
                "type": "actions",
                "block_id": "kb_doc_author",
                "elements": [button("Revise and resubmit", REVISE_ACTION, ref.to_value(), style="primary")],
            }
        )
    return blocks


def decided_blocks(text: str) -> list[dict[str, Any]]:
    """What replaces an approver's buttons once they decided (or could not)."""
    return [_section(text)]


# --- pieces ---------------------------------------------------------------------------------------------


def _choices(areas: Sequence[Area], fields: DraftFields) -> list[dict[str, Any]]:
    area_element: dict[str, Any]
    if areas:
        options = [_option(area.name, area.name) for area in areas]
        area_element = {"type": "static_select", "options": options}
        chosen = next((o for o in options if o["value"] == fields.area), None)
        if chosen:
            area_element["initial_option"] = chosen
    else:
        area_element = _text(initial=fields.area)
    types = [_option(kind, kind) for kind in DOC_TYPES]
    levels = [_option(level, level) for level in CLASSIFICATIONS]
    owner: dict[str, Any] = {"type": "users_select"}
    if fields.owner_user:
        owner["initial_user"] = fields.owner_user
    return [
        _input("area", "Area", area_element, hint="Policies and procedures go to the area's approvers."),
        _input(
            "doc_type",
            "Type",
            {"type": "static_select", "options": types, "initial_option": _initial(types, fields.doc_type)},
        ),
        _input(
            "classification",
            "Who may read it",
            {
                "type": "static_select",
                "options": levels,
                "initial_option": _initial(levels, fields.classification),
            },
        ),
        _input("owner", "Owner", owner),
    ]


def _modal(
    callback_id: str, title: str, blocks: list[dict[str, Any]], meta: dict[str, Any], *, submit: str | None
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps(meta),
        "title": {"type": "plain_text", "text": title},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }
    if submit:
        view["submit"] = {"type": "plain_text", "text": submit}
    return view


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = ""
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {"action_id": "value", **element},
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _text(*, multiline: bool = False, max_length: int = INPUT_MAX_CHARS, initial: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": multiline, "max_length": max_length}
    if initial:
        element["initial_value"] = initial[:max_length]
    return element


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def _initial(options: list[dict[str, Any]], value: str) -> dict[str, Any]:
    return next((o for o in options if o["value"] == value), options[0])


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
