"""Slack's interactivity endpoint: feedback buttons, the problem modal, the owners' review button, and the
admins' escalation actions.

Slack wants an answer within 3 seconds. Within it: verify the signature, count the vote in Chroma (so the
next search reflects it), and open the modal (its trigger expires in 3 s). After answering, on a background
worker: replace the buttons with a thank-you through the `response_url`, and notify owners. Nothing in a
request is believed before its signature checks out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import parse_qs

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.webhook import WebhookClient

from common.errors import InvalidInteraction, KbError
from common.events.model import BehaviouralSignal
from common.events.publishers import EventPublisher
from common.infra.background import TaskPool
from common.infra.http_reply import HttpReply
from common.logs import get_logger
from common.quality.feedback import FeedbackReceipt, FeedbackService
from common.slack.account_links import OAUTH_ACTION, TOKEN_ACTION, TOKEN_MODAL, UNLINK_COMMAND, AccountLinks
from common.slack.client import email_of
from common.slack.document_blocks import SLASH_COMMAND as DOCUMENT_COMMAND
from common.slack.document_blocks import THREAD_SHORTCUT, decided_blocks
from common.slack.document_flow import DOCUMENT_ACTIONS, DOCUMENT_MODALS, DocumentFlow, Later, Reply
from common.slack.escalation_blocks import ESCALATION_PREFIX
from common.slack.escalation_flow import EscalationFlow, ReplaceMessage
from common.slack.feedback_blocks import (
    CORRECTION_ACTION,
    CORRECTION_BLOCK,
    PROBLEM_KIND_ACTION,
    PROBLEM_KIND_BLOCK,
    PROBLEM_MODAL,
    REPORT_ACTION,
    REVIEWED_ACTION,
    SOURCE_LINK_ACTION,
    VOTE_ACTION_PREFIX,
    AnswerRef,
    problem_modal,
    thanks_blocks,
)
from common.slack.payload import modal_metadata, object_field, object_list_field, user_id_of
from common.slack.private_answers import ASK_COMMAND, PrivateAnswers
from common.slack.quick_knowledge_flow import MODAL as QUICK_MODAL
from common.slack.quick_knowledge_flow import SHORTCUT, SLASH_COMMAND, QuickKnowledgeFlow
from common.slack.signing import rejection
from common.store.votes import VOTE_KINDS, Vote, VoteKind

log = get_logger(__name__)

RESPONSE_URL_TIMEOUT_SECONDS = 5
NOT_COUNTED_YET = (
    "Thanks. The knowledge base is briefly unavailable, so your vote is saved and will count in a minute."
)
REVIEW_NOT_RECORDED_YET = (
    "Thanks. The knowledge base is briefly unavailable, so your review is saved and will show in a minute."
)


class InteractionHandler:
    def __init__(
        self,
        *,
        signing_secret: str,
        feedback: FeedbackService,
        slack: WebClient,
        publisher: EventPublisher,
        quick_knowledge: Callable[[Later], QuickKnowledgeFlow] | None = None,
        documents: Callable[[Later, Reply], DocumentFlow] | None = None,
        account_links: Callable[[Later], AccountLinks] | None = None,
        escalations: Callable[[Later, ReplaceMessage], EscalationFlow] | None = None,
        private_answers: Callable[[Later, ReplaceMessage], PrivateAnswers] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._secret = signing_secret
        self._feedback = feedback
        self._slack = slack
        self._publisher = publisher
        self._clock = clock
        self._after_ack = TaskPool(name="after-ack", workers=2)
        self._quick = quick_knowledge(self._later) if quick_knowledge else None
        self._documents = documents(self._later, self._replace_message) if documents else None
        self._links = account_links(self._later) if account_links else None
        self._escalations = escalations(self._later, self._replace_with) if escalations else None
        self._private = private_answers(self._later, self._ephemeral) if private_answers else None

    def handle(self, *, body: bytes, headers: Mapping[str, str]) -> HttpReply:
        refused = rejection(body=body, headers=headers, secret=self._secret, now=self._clock().timestamp())
        if refused is not None:
            return refused
        try:
            form = _form(body)
            if "command" in form:
                return self._slash_command(form)
            payload = _payload(form)
            kind = payload.get("type")
            if kind == "block_actions":
                return self._block_actions(payload)
            if kind == "view_submission":
                return self._view_submission(payload)
            if kind == "message_action":
                return self._message_shortcut(payload)
        except InvalidInteraction as exc:
            log.warning("slack_interaction_invalid", error=str(exc))
            return HttpReply(400, {"error": str(exc)})
        log.info("slack_interaction_ignored", type=kind)
        return HttpReply(200)

    def drain(self) -> None:
        """Wait for every after-acknowledgement task (tests, and shutdown so nothing is cut off)."""
        self._after_ack.drain()

    # --- block_actions ------------------------------------------------------------------------------

    def _block_actions(self, payload: dict[str, Any]) -> HttpReply:
        user_id = user_id_of(payload)
        for action in object_list_field(payload, "actions"):
            action_id = str(action.get("action_id", ""))
            if action_id.startswith(VOTE_ACTION_PREFIX):
                kind = _vote_kind(action_id.removeprefix(VOTE_ACTION_PREFIX))
                self._vote(payload, AnswerRef.from_value(str(action.get("value", ""))), kind, user_id)
            elif action_id == REPORT_ACTION:
                self._open_problem_modal(payload, AnswerRef.from_value(str(action.get("value", ""))))
            elif action_id == REVIEWED_ACTION:
                self._mark_reviewed(payload, page_id=str(action.get("value", "")), user_id=user_id)
            elif action_id in DOCUMENT_ACTIONS and self._documents is not None:
                self._documents.action(payload, action)
            elif action_id == TOKEN_ACTION and self._links is not None:
                self._links.open_token_modal(payload)
            elif action_id.startswith(ESCALATION_PREFIX) and self._escalations is not None:
                self._escalations.action(payload, action, user_id)
            elif action_id == OAUTH_ACTION:
                log.info("confluence_link_started", user_id=user_id)
            elif action_id.startswith(SOURCE_LINK_ACTION):
                self._publisher.publish(
                    [
                        BehaviouralSignal(
                            signal="source_click",
                            answer_id=str(action.get("value", "")),
                            user_id=user_id,
                            detail=str(action.get("url", "")),
                        )
                    ]
                )
            else:
                raise InvalidInteraction(f"Unknown action {action_id!r}: this app has no such button.")
        return HttpReply(200)

    def _vote(self, payload: dict[str, Any], ref: AnswerRef, kind: VoteKind, user_id: str) -> None:
        votes = _votes(ref, kind=kind, user_id=user_id, at=self._clock())
        receipt = self._feedback.submit(votes)
        response_url = payload.get("response_url")
        original = object_list_field(object_field(payload, "message"), "blocks")

        def after() -> None:
            if response_url:
                self._reply_in_place(str(response_url), original, kind, user_id, receipt)
            self._feedback.notify_owners(votes, receipt)

        self._later(after)

    def _open_problem_modal(self, payload: dict[str, Any], ref: AnswerRef) -> None:
        trigger_id = payload.get("trigger_id")
        if not trigger_id:
            raise InvalidInteraction("The report button's payload has no trigger_id to open the modal with.")
        channel = str(object_field(payload, "channel").get("id", ""))
        try:
            self._slack.views_open(trigger_id=str(trigger_id), view=problem_modal(ref, channel_id=channel))
        except SlackClientError as exc:
            log.error("problem_modal_not_opened", answer_id=ref.answer_id, error=str(exc))

    def _mark_reviewed(self, payload: dict[str, Any], *, page_id: str, user_id: str) -> None:
        if not page_id:
            raise InvalidInteraction("The review button names no page.")
        reviewer = self._email_of(user_id) or user_id
        receipt = self._feedback.review(page_id, reviewer=reviewer, at=self._clock())
        text = (
            f"✅ Marked as reviewed by <@{user_id}>: its answers rank as verified again."
            if receipt.counted
            else REVIEW_NOT_RECORDED_YET
        )
        response_url = payload.get("response_url")
        if response_url:
            self._later(lambda: self._post(str(response_url), text=text, replace_original=False))

    # --- quick knowledge ----------------------------------------------------------------------------

    def _slash_command(self, form: dict[str, str]) -> HttpReply:
        channel = form.get("channel_id", "")
        if form.get("command") == ASK_COMMAND and self._private is not None:
            return self._private.command(form)
        if form.get("command") == UNLINK_COMMAND and self._links is not None:
            return self._links.unlink(form)
        if form.get("command") == DOCUMENT_COMMAND and self._documents is not None:
            user_id = form.get("user_id", "")
            if not user_id:
                raise InvalidInteraction("The slash command names no user.")
            self._documents.open_start(
                trigger_id=form.get("trigger_id", ""), user_id=user_id, channel=channel
            )
            return HttpReply(200)
        if form.get("command") != SLASH_COMMAND or self._quick is None:
            raise InvalidInteraction(f"Unknown command {form.get('command')!r}.")
        self._quick.open(
            trigger_id=form.get("trigger_id", ""),
            text=form.get("text", ""),
            link=f"https://slack.com/app_redirect?channel={channel}",
            channel=channel,
        )
        return HttpReply(200)

    def _message_shortcut(self, payload: dict[str, Any]) -> HttpReply:
        if payload.get("callback_id") == THREAD_SHORTCUT and self._documents is not None:
            self._documents.open_from_thread(payload)
            return HttpReply(200)
        if payload.get("callback_id") != SHORTCUT or self._quick is None:
            raise InvalidInteraction(f"Unknown shortcut {payload.get('callback_id')!r}.")
        message = object_field(payload, "message")
        channel = str(object_field(payload, "channel").get("id", ""))
        domain = str(object_field(payload, "team").get("domain", "app"))
        ts = str(message.get("ts", ""))
        self._quick.open(
            trigger_id=str(payload.get("trigger_id", "")),
            text=str(message.get("text", "")),
            link=f"https://{domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}",
            channel=channel,
        )
        return HttpReply(200)

    # --- view_submission ----------------------------------------------------------------------------

    def _view_submission(self, payload: dict[str, Any]) -> HttpReply:
        view = object_field(payload, "view")
        callback_id = view.get("callback_id")
        if callback_id == QUICK_MODAL and self._quick is not None:
            user_id = user_id_of(payload)
            email = self._email_of(user_id) or ""
            name = str(object_field(payload, "user").get("name") or user_id)
            return self._quick.submit(payload, author_email=email, author_name=name)
        if isinstance(callback_id, str) and callback_id in DOCUMENT_MODALS and self._documents is not None:
            return self._documents.submit(payload)
        if callback_id == TOKEN_MODAL and self._links is not None:
            return self._links.submit_token(payload)
        if callback_id != PROBLEM_MODAL:
            raise InvalidInteraction(f"Unknown modal {callback_id!r}.")
        meta = modal_metadata(view, "problem")
        ref = AnswerRef.from_value(str(meta.get("ref", "")))
        values = object_field(object_field(view, "state"), "values")
        chosen = object_field(
            object_field(object_field(values, PROBLEM_KIND_BLOCK), PROBLEM_KIND_ACTION), "selected_option"
        )
        if not chosen:
            return HttpReply(
                200, {"response_action": "errors", "errors": {PROBLEM_KIND_BLOCK: "Pick what is wrong."}}
            )
        kind = _vote_kind(str(chosen.get("value")))
        comment = str(
            object_field(object_field(values, CORRECTION_BLOCK), CORRECTION_ACTION).get("value") or ""
        )
        user_id = user_id_of(payload)
        votes = _votes(ref, kind=kind, user_id=user_id, at=self._clock(), comment=comment)
        receipt = self._feedback.submit(votes)
        channel = str(meta.get("channel") or "")

        def after() -> None:
            if channel:
                message = thanks_blocks([], kind, user_id)[0]["elements"][0]["text"]
                text = message if receipt.counted else NOT_COUNTED_YET
                try:
                    self._slack.chat_postEphemeral(channel=channel, user=user_id, text=text)
                except SlackClientError as exc:
                    log.warning("thanks_not_posted", answer_id=ref.answer_id, error=str(exc))
            self._feedback.notify_owners(votes, receipt)

        self._later(after)
        return HttpReply(200)

    # --- helpers ------------------------------------------------------------------------------------

    def _reply_in_place(
        self,
        response_url: str,
        original: list[dict[str, Any]] | None,
        kind: VoteKind,
        user_id: str,
        receipt: FeedbackReceipt,
    ) -> None:
        if not receipt.counted:
            self._post(response_url, text=NOT_COUNTED_YET, replace_original=False)
        elif original:
            self._post(
                response_url,
                text="Thanks for the feedback",
                replace_original=True,
                blocks=thanks_blocks(original, kind, user_id),
            )
        else:
            text = thanks_blocks([], kind, user_id)[0]["elements"][0]["text"]
            self._post(response_url, text=text, replace_original=False)

    def _post(
        self, url: str, *, text: str, replace_original: bool, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        try:
            response = WebhookClient(url, timeout=RESPONSE_URL_TIMEOUT_SECONDS).send(
                text=text, blocks=blocks, replace_original=replace_original, response_type="ephemeral"
            )
        except OSError as exc:
            log.warning("response_url_failed", error=str(exc))
            return
        if response.status_code != 200:
            log.warning("response_url_refused", status=response.status_code, body=response.body[:200])

    def _replace_message(self, response_url: str, text: str) -> None:
        self._post(response_url, text=text, replace_original=True, blocks=decided_blocks(text))

    def _replace_with(self, response_url: str, text: str, blocks: list[dict[str, Any]]) -> None:
        self._post(response_url, text=text, replace_original=True, blocks=blocks)

    def _ephemeral(self, response_url: str, text: str, blocks: list[dict[str, Any]]) -> None:
        self._post(response_url, text=text, replace_original=False, blocks=blocks or None)

    def _email_of(self, user_id: str) -> str | None:
        return email_of(self._slack, user_id)

    def _later(self, task: Callable[[], None]) -> None:
        def guarded() -> None:
            try:
                task()
            except KbError as exc:
                log.error("after_ack_task_failed", error=str(exc))

        self._after_ack.submit(guarded)


def _form(body: bytes) -> dict[str, str]:
    try:
        return {
            name: values[0] for name, values in parse_qs(body.decode("utf-8"), strict_parsing=True).items()
        }
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInteraction(f"Not a Slack interaction (expected a url-encoded form): {exc}") from exc


def _payload(form: dict[str, str]) -> dict[str, Any]:
    try:
        payload = json.loads(form["payload"])
    except (ValueError, KeyError) as exc:
        raise InvalidInteraction(
            f"Not a Slack interaction (expected a form field `payload` of JSON): {exc}"
        ) from exc
    if not isinstance(payload, dict):
        raise InvalidInteraction("The interaction payload is not a JSON object.")
    return cast(dict[str, Any], payload)


def _vote_kind(value: str) -> VoteKind:
    if value not in VOTE_KINDS:
        raise InvalidInteraction(f"Unknown vote {value!r}; expected one of {', '.join(VOTE_KINDS)}.")
    return value


def _votes(ref: AnswerRef, *, kind: VoteKind, user_id: str, at: datetime, comment: str = "") -> list[Vote]:
    return [
        Vote(
            chunk_id=chunk_id,
            page_id=page_id,
            answer_id=ref.answer_id,
            user_id=user_id,
            kind=kind,
            voted_at=at,
            question=ref.question,
            comment=comment,
        )
        for chunk_id, page_id in ref.cited
    ]
