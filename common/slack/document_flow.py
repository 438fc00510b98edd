"""Documents from Slack: `/kb-doc`, the "Turn thread into a document" shortcut, the modals, and the
approvers' buttons.

Slack wants an answer within 3 seconds and a modal opened within its trigger's 3 seconds, while drafting
(an LLM, reading a thread) and publishing (Confluence, the embedding model) take longer. So a modal opens at
once and is updated (`views.update`) when its draft is ready, a submission or a decision answers as soon
as its transition is recorded, and what follows (asking approvers, publishing, telling the author) runs
after the answer (`later`). A refused decision (a superseded version, someone who is not an approver) is
told to the person who clicked, and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Any, cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from common.documents.drafting import Drafter, ThreadMessage
from common.documents.model import DECISIONS, DOC_TYPES, DecisionKind
from common.documents.service import DocumentService
from common.documents.workflow import Change
from common.errors import DocumentRefused, InvalidInteraction, KbError, ServiceUnavailable
from common.infra.http_reply import HttpReply
from common.logs import get_logger
from common.slack.document_blocks import (
    APPROVE_ACTION,
    CHANGES_ACTION,
    DECISION_MODAL,
    DRAFT_MODAL,
    REJECT_ACTION,
    REVISE_ACTION,
    REVISE_MODAL,
    START_MODAL,
    DocRef,
    DraftFields,
    decision_modal,
    draft_modal,
    drafting_modal,
    revise_modal,
    start_modal,
)
from common.slack.payload import modal_metadata, object_field, user_id_of
from common.store.chunk import CLASSIFICATIONS

log = get_logger(__name__)

DOCUMENT_ACTIONS = frozenset({APPROVE_ACTION, CHANGES_ACTION, REJECT_ACTION, REVISE_ACTION})
DOCUMENT_MODALS = frozenset({START_MODAL, DRAFT_MODAL, DECISION_MODAL, REVISE_MODAL})
THREAD_MESSAGES = 200
UNAVAILABLE = "The knowledge base is briefly unavailable; nothing was changed. Please try again in a minute."

Later = Callable[[Callable[[], None]], None]
Reply = Callable[[str, str], None]
"""Post `text` to a response_url (the approver's DM message), replacing what it showed."""


class DocumentFlow:
    def __init__(
        self,
        *,
        slack: WebClient,
        service: Callable[[], DocumentService],
        drafter: Callable[[], Drafter],
        later: Later,
        reply: Reply,
        email_of: Callable[[str], str | None],
    ) -> None:
        self._slack = slack
        self._service = cache(service)
        self._drafter = cache(drafter)
        self._later = later
        self._reply = reply
        self._email_of = email_of

    # --- opening ------------------------------------------------------------------------------------

    def open_start(self, *, trigger_id: str, user_id: str, channel: str) -> None:
        view = start_modal(areas=self._service().workflow.areas(), author=user_id, channel=channel)
        self._views("views_open", trigger_id=trigger_id, view=view)

    def open_from_thread(self, payload: dict[str, Any]) -> None:
        message = object_field(payload, "message")
        channel = str(object_field(payload, "channel").get("id", ""))
        thread_ts = str(message.get("thread_ts") or message.get("ts") or "")
        if not channel or not thread_ts:
            raise InvalidInteraction("The shortcut's message names no channel or timestamp.")
        domain = str(object_field(payload, "team").get("domain", "app"))
        link = f"https://{domain}.slack.com/archives/{channel}/p{thread_ts.replace('.', '')}"
        opened = self._views(
            "views_open",
            trigger_id=str(payload.get("trigger_id", "")),
            view=drafting_modal(channel=channel, source_link=link),
        )
        view_id = str((opened or {}).get("view", {}).get("id", ""))
        user_id = user_id_of(payload)
        if view_id:
            self._later(lambda: self._draft_thread(view_id, channel, thread_ts, link, user_id))

    # --- modals -------------------------------------------------------------------------------------

    def submit(self, payload: dict[str, Any]) -> HttpReply:
        """A document modal submitted. An outage keeps the modal open with what was typed in it."""
        view = object_field(payload, "view")
        try:
            return self._submitted(payload, view)
        except ServiceUnavailable as exc:
            log.warning("document_modal_deferred", error=str(exc))
            block = {DECISION_MODAL: "reason", REVISE_MODAL: "note"}.get(
                str(view.get("callback_id")), "title"
            )
            return _errors(block, UNAVAILABLE)

    def _submitted(self, payload: dict[str, Any], view: dict[str, Any]) -> HttpReply:
        callback = view.get("callback_id")
        meta = modal_metadata(view, "document")
        values = _values(view)
        user_id = user_id_of(payload)
        if callback == START_MODAL:
            return self._submit_start(view, meta, values, user_id)
        if callback == DRAFT_MODAL:
            return self._create(values, meta, user_id, body=values.get("body", ""))
        if callback == DECISION_MODAL:
            ref = DocRef.from_value(json.dumps({"d": meta.get("d"), "v": meta.get("v")}))
            kind = str(meta.get("k", ""))
            if kind not in DECISIONS:
                raise InvalidInteraction(f"The decision modal names no decision: {kind!r}.")
            reason = values.get("reason", "")
            return self._decide(ref, kind, user_id, reason, errors_on="reason")
        if callback == REVISE_MODAL:
            ref = DocRef.from_value(json.dumps({"d": meta.get("d"), "v": meta.get("v")}))
            return self._revise(ref, user_id, values)
        raise InvalidInteraction(f"Unknown modal {callback!r}.")

    def _submit_start(
        self, view: dict[str, Any], meta: dict[str, Any], values: dict[str, str], user_id: str
    ) -> HttpReply:
        body, description = values.get("body", ""), values.get("description", "")
        if body:
            return self._create(values, meta, user_id, body=body)
        if not description:
            message = "Write the document, or describe it and a draft is written for you."
            return HttpReply(200, {"response_action": "errors", "errors": {"description": message}})
        view_id = str(view.get("id", ""))
        fields = _fields(values, owner_default=user_id)
        channel = str(meta.get("channel", ""))

        def draft() -> None:
            written = self._drafter().draft(description=description, title=values.get("title", ""))
            filled = replace(fields, title=written.title, body=written.body)
            self._update(view_id, filled, channel=channel, source_link="")

        self._later(lambda: self._drafting(view_id, channel, draft))
        return HttpReply(200, {"response_action": "update", "view": drafting_modal(channel=channel)})

    def _create(self, values: dict[str, str], meta: dict[str, Any], user_id: str, *, body: str) -> HttpReply:
        fields = _fields(values, owner_default=user_id)
        if fields.doc_type not in DOC_TYPES:
            return _errors("doc_type", f"One of {', '.join(DOC_TYPES)}.")
        if fields.classification not in CLASSIFICATIONS:
            return _errors("classification", f"One of {', '.join(CLASSIFICATIONS)}.")
        owner = self._email_of(fields.owner_user) or fields.owner_user or user_id
        try:
            change = self._service().create(
                title=values.get("title", ""),
                area=fields.area,
                doc_type=fields.doc_type,
                classification=fields.classification,
                owner=owner,
                author=user_id,
                body=body,
                source_link=str(meta.get("source_link", "")),
            )
        except DocumentRefused as exc:
            return _errors("area" if "area" in str(exc) else "title", str(exc))
        self._follow(change, tell=(user_id, str(meta.get("channel", ""))))
        return HttpReply(200, {"response_action": "clear"})

    def _revise(self, ref: DocRef, user_id: str, values: dict[str, str]) -> HttpReply:
        try:
            change = self._service().revise(
                ref.document_id,
                editor=user_id,
                body=values.get("body", ""),
                note=values.get("note", ""),
                title=values.get("title", ""),
            )
        except DocumentRefused as exc:
            return _errors("body", str(exc))
        self._follow(change, tell=(user_id, ""))
        return HttpReply(200, {"response_action": "clear"})

    # --- buttons ------------------------------------------------------------------------------------

    def action(self, payload: dict[str, Any], action: dict[str, Any]) -> None:
        """An approver's (or author's) button. A refusal (a document that is gone) or an outage is told to
        the person who clicked; nothing was changed."""
        try:
            self._acted(payload, action)
        except DocumentRefused as exc:
            log.info("document_action_refused", error=str(exc))
            self._reply_later(payload, f":warning: {exc}")
        except ServiceUnavailable as exc:
            log.warning("document_action_deferred", error=str(exc))
            self._reply_later(payload, UNAVAILABLE)

    def _reply_later(self, payload: dict[str, Any], text: str) -> None:
        response_url = str(payload.get("response_url") or "")
        if response_url:
            self._later(lambda: self._reply(response_url, text))

    def _acted(self, payload: dict[str, Any], action: dict[str, Any]) -> None:
        action_id = str(action.get("action_id", ""))
        ref = DocRef.from_value(action.get("value", ""))
        user_id = user_id_of(payload)
        if action_id == APPROVE_ACTION:
            reply = self._decide(ref, "approve", user_id, "", errors_on=None)
            text = str((reply.body or {}).get("text", ""))
            if text:
                self._reply_later(payload, text)
            return
        trigger_id = str(payload.get("trigger_id") or "")
        if not trigger_id:
            raise InvalidInteraction("The document button's payload has no trigger_id to open a modal with.")
        doc = self._service().workflow.document(ref.document_id)
        if action_id == REVISE_ACTION:
            version = self._service().workflow.version(doc.id, doc.version)
            self._views("views_open", trigger_id=trigger_id, view=revise_modal(doc, version))
            return
        kind: DecisionKind = "request_changes" if action_id == CHANGES_ACTION else "reject"
        self._views("views_open", trigger_id=trigger_id, view=decision_modal(ref, kind=kind, title=doc.title))

    def _decide(
        self, ref: DocRef, kind: DecisionKind, user_id: str, reason: str, *, errors_on: str | None
    ) -> HttpReply:
        """A modal's reply (`errors_on` set) or, for a button, `{"text": …}` saying what happened."""
        try:
            change = self._service().decide(
                ref.document_id, version=ref.version, approver=user_id, kind=kind, reason=reason
            )
        except DocumentRefused as exc:
            if errors_on is not None:
                return _errors(errors_on, str(exc))
            return HttpReply(200, {"text": f":warning: {exc}"})
        self._follow(change, tell=None)
        said = {"approve": "approved", "request_changes": "asked for changes to", "reject": "rejected"}[kind]
        text = f"You {said} version {ref.version} of “{change.document.title}”."
        if errors_on is not None:
            return HttpReply(200, {"response_action": "clear"})
        return HttpReply(200, {"text": text})

    # --- after the answer ---------------------------------------------------------------------------

    def _follow(self, change: Change, *, tell: tuple[str, str] | None) -> None:
        def after() -> None:
            if tell is not None:
                self._tell_submitted(change, *tell)
            self._service().follow_up(change)

        self._later(after)

    def _tell_submitted(self, change: Change, user_id: str, channel: str) -> None:
        doc = change.document
        if change.ask:
            waiting_on = ", ".join(f"<@{approver}>" for approver in change.ask)
            text = f"“{doc.title}” (version {doc.version}) is waiting for {waiting_on}."
        else:
            text = f"“{doc.title}” (version {doc.version}) is being published; you get the link in a moment."
        try:
            if channel:
                self._slack.chat_postEphemeral(channel=channel, user=user_id, text=text)
            else:
                self._slack.chat_postMessage(channel=user_id, text=text)
        except SlackClientError as exc:
            log.warning("document_submitted_reply_failed", document_id=doc.id, error=str(exc))

    def _draft_thread(self, view_id: str, channel: str, thread_ts: str, link: str, user_id: str) -> None:
        def draft() -> None:
            replies = self._slack.conversations_replies(channel=channel, ts=thread_ts, limit=THREAD_MESSAGES)
            names: dict[str, str] = {}
            messages = [
                ThreadMessage(author=self._name(str(m.get("user", "")), names), text=str(m.get("text", "")))
                for m in replies.get("messages") or []
                if isinstance(m, dict) and not m.get("bot_id")
            ]
            written = self._drafter().draft(messages=messages)
            fields = DraftFields(title=written.title, body=written.body, owner_user=user_id)
            self._update(view_id, fields, channel=channel, source_link=link)

        self._drafting(view_id, channel, draft)

    def _drafting(self, view_id: str, channel: str, draft: Callable[[], None]) -> None:
        """Run `draft`; when it fails, the modal says so and stays editable, so nothing typed is lost."""
        try:
            draft()
        except (KbError, SlackClientError) as exc:
            log.error("document_draft_failed", error=str(exc))
            note = f":warning: No draft could be written ({exc}). Write the document here instead."
            self._update(view_id, DraftFields(), channel=channel, source_link="", note=note)

    def _update(
        self, view_id: str, fields: DraftFields, *, channel: str, source_link: str, note: str = ""
    ) -> None:
        areas = self._service().workflow.areas()
        view = draft_modal(areas=areas, fields=fields, channel=channel, source_link=source_link, note=note)
        self._views("views_update", view_id=view_id, view=view)

    def _name(self, user_id: str, names: dict[str, str]) -> str:
        if user_id not in names:
            try:
                found = self._slack.users_info(user=user_id)
                profile = (found.get("user") or {}).get("profile") or {}
                names[user_id] = str(profile.get("real_name") or profile.get("display_name") or user_id)
            except SlackClientError:
                names[user_id] = user_id
        return names[user_id]

    def _views(self, method: str, **arguments: Any) -> dict[str, Any] | None:
        try:
            response = getattr(self._slack, method)(**arguments)
        except SlackClientError as exc:
            log.error("document_modal_failed", method=method, error=str(exc))
            return None
        return cast(dict[str, Any], response.data) if isinstance(response.data, dict) else None


def _values(view: dict[str, Any]) -> dict[str, str]:
    """Every input of the modal by block id: typed text, the chosen option's value, or the chosen user."""
    found: dict[str, str] = {}
    for block, actions in object_field(object_field(view, "state"), "values").items():
        if not isinstance(actions, dict):
            raise InvalidInteraction(f"The modal's value for {block!r} is not an object.")
        entry = object_field(actions, "value")
        chosen = object_field(entry, "selected_option")
        value = entry.get("value") or chosen.get("value") or entry.get("selected_user") or ""
        if not isinstance(value, str):
            raise InvalidInteraction(f"The modal's value for {block!r} is not text.")
        found[str(block)] = value.strip()
    return found


def _fields(values: dict[str, str], *, owner_default: str) -> DraftFields:
    return DraftFields(
        area=values.get("area", "").lower(),
        doc_type=values.get("doc_type") or "information",
        classification=values.get("classification") or "internal",
        owner_user=values.get("owner") or owner_default,
    )


def _errors(block: str, message: str) -> HttpReply:
    return HttpReply(200, {"response_action": "errors", "errors": {block: message[:300]}})
