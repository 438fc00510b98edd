"""Confluence links in Slack: the prompt under an answer, `/kb-unlink`, and linking by personal token.

The prompt appears only where linking would show the asker more (they are not linked, or their token was
refused), and offers what this deployment supports: Atlassian's OAuth (a URL button whose signed state is
bound to the asker) on Cloud, a personal access token (a modal) on Data Center. What a person typed into
the token modal is checked against Confluence after Slack has been answered, and the outcome sent to them
by DM, since the check may take longer than Slack's three seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from common.errors import InvalidInteraction, LinkRefused, PermissionsUnavailable
from common.infra.http_reply import HttpReply
from common.logs import get_logger
from common.permissions.access import Access
from common.permissions.linking import Linker
from common.slack.payload import user_id_of

log = get_logger(__name__)

UNLINK_COMMAND = "/kb-unlink"
TOKEN_ACTION = "kb_link_token"
TOKEN_MODAL = "kb_link_token_modal"
OAUTH_ACTION = "kb_link_oauth"
LINK_PROMPT = "Link your Confluence account to include pages only you can see"
_TOKEN_BLOCK, _TOKEN_INPUT = "token", "token_input"


class AccountLinks:
    def __init__(
        self, *, linker: Callable[[], Linker], slack: WebClient, later: Callable[[Callable[[], None]], None]
    ) -> None:
        self._linker = linker
        self._slack = slack
        self._later = later

    def blocks(self, access: Access, slack_user_id: str) -> list[dict[str, Any]]:
        """What goes under an answer: why restricted pages were left out, and the way to link."""
        if not access.note:
            return []
        blocks: list[dict[str, Any]] = [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": access.note}]}
        ]
        button = self._link_button(slack_user_id) if access.offers_link else None
        if button is not None:
            blocks.append(
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": LINK_PROMPT},
                    "accessory": button,
                }
            )
        return blocks

    def _link_button(self, slack_user_id: str) -> dict[str, Any] | None:
        linker = self._linker()
        if linker.offers_oauth:
            return {
                "type": "button",
                "action_id": OAUTH_ACTION,
                "text": {"type": "plain_text", "text": "Link Confluence"},
                "url": linker.authorize_url(slack_user_id),
                "style": "primary",
            }
        if linker.offers_personal_token:
            return {
                "type": "button",
                "action_id": TOKEN_ACTION,
                "text": {"type": "plain_text", "text": "Link with a token"},
            }
        return None

    def unlink(self, form: dict[str, str]) -> HttpReply:
        user_id = form.get("user_id", "")
        if not user_id:
            raise InvalidInteraction("The slash command names no user.")
        removed = self._linker().unlink(user_id)
        text = (
            "Your Confluence account is unlinked and its tokens deleted. I'll answer you from pages everyone "
            "can read until you link again."
            if removed is not None
            else "You had no Confluence account linked. I won't link one by your email from now on."
        )
        return HttpReply(200, {"response_type": "ephemeral", "text": text})

    def open_token_modal(self, payload: dict[str, Any]) -> None:
        try:
            self._slack.views_open(trigger_id=str(payload.get("trigger_id", "")), view=_token_modal())
        except SlackClientError as exc:
            log.warning("link_modal_not_opened", error=str(exc))

    def submit_token(self, payload: dict[str, Any]) -> HttpReply:
        user_id = user_id_of(payload)
        values = (payload.get("view") or {}).get("state", {}).get("values", {})
        token = str(values.get(_TOKEN_BLOCK, {}).get(_TOKEN_INPUT, {}).get("value") or "").strip()
        if not token:
            return HttpReply(
                200, {"response_action": "errors", "errors": {_TOKEN_BLOCK: "Paste a personal access token."}}
            )
        self._later(lambda: self._link_token(user_id, token))
        return HttpReply(200)

    def _link_token(self, user_id: str, token: str) -> None:
        try:
            link = self._linker().link_personal_token(user_id, token)
            text = f"Linked: my DMs to you now include what Confluence account {link.account_id} may read."
        except (LinkRefused, PermissionsUnavailable) as exc:
            text = f"I couldn't link your Confluence account: {exc}"
        try:
            self._slack.chat_postMessage(channel=user_id, text=text)
        except SlackClientError as exc:
            log.warning("link_outcome_not_sent", error=str(exc))


def _token_modal() -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": TOKEN_MODAL,
        "title": {"type": "plain_text", "text": "Link Confluence"},
        "submit": {"type": "plain_text", "text": "Link"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "Make a personal access token in Confluence (Profile → Personal Access Tokens) "
                    "and paste it here. It is stored encrypted, used only to confirm who you are, and "
                    "deleted by `/kb-unlink`.",
                },
            },
            {
                "type": "input",
                "block_id": _TOKEN_BLOCK,
                "label": {"type": "plain_text", "text": "Personal access token"},
                "element": {"type": "plain_text_input", "action_id": _TOKEN_INPUT},
            },
        ],
    }
