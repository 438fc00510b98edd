"""Posting to the knowledge admins' channel (`KNOWLEDGE_ADMIN_CHANNEL`): escalations, evaluation alerts, gaps.

Every sender claims its message first (`common.infra.claims`, created only if absent) under a key that
names what the message is about and when (a page and a day, an evaluation day, a gap week), so two
instances or a re-run job post it once. A post Slack refuses releases the claim and raises, so the next run
posts it; a message is never dropped without a log line saying why.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from common.errors import KbError, SlackUnavailable
from common.infra.claims import Claim, Claims
from common.logs import get_logger

log = get_logger(__name__)


class AdminChannel:
    def __init__(self, *, slack: WebClient, channel: str, claims: Claims) -> None:
        self._slack = slack
        self._channel = channel
        self._claims = claims

    @property
    def channel(self) -> str:
        return self._channel

    def post_once(self, key: str, *, text: str, blocks: list[dict[str, Any]] | None = None) -> str | None:
        """Post unless a message for `key` was (or is being) posted; returns the message's ts, or None
        when it was a duplicate. Raises `SlackUnavailable` (retry later) or `KbError` (fix the setup)."""
        claim = self._claims.claim(key)
        if claim is not Claim.TAKEN:
            log.info("admin_message_already_sent", key=key, claim=claim.value)
            return None
        try:
            ts = self.post(text=text, blocks=blocks)
        except KbError:
            self._claims.release(key)
            raise
        self._claims.complete(key)
        return ts

    def post(self, *, text: str, blocks: list[dict[str, Any]] | None = None) -> str:
        try:
            reply = self._slack.chat_postMessage(
                channel=self._channel, text=text[:3000], blocks=blocks, unfurl_links=False
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if exc.response.status_code == 429 or exc.response.status_code >= 500:
                raise SlackUnavailable(f"Slack chat.postMessage failed ({error}).") from exc
            raise KbError(
                f"Slack refused a message to the admin channel {self._channel}: {error}. Invite the app to"
                " the channel named by KNOWLEDGE_ADMIN_CHANNEL, or fix the setting."
            ) from exc
        except SlackClientError as exc:
            raise SlackUnavailable(f"Slack could not be reached: {exc}") from exc
        return str(reply.get("ts", ""))
