"""Checking that a request really comes from Slack, before anything in it is believed.

Slack signs `v0:{timestamp}:{raw body}` with the app's signing secret (HMAC-SHA256). A request with no
signature, a wrong one, or a timestamp more than five minutes from now is refused: the window stops a
captured request from being replayed later.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from slack_sdk.signature import SignatureVerifier

from common.errors import SlackRequestRejected
from common.logs import get_logger
from common.slack.reply import SlackReply

log = get_logger(__name__)

MAX_AGE_SECONDS = 300


def verify_slack_request(*, body: bytes, headers: Mapping[str, str], secret: str, now: float) -> None:
    normalised = {name.lower(): value for name, value in headers.items()}
    timestamp = normalised.get("x-slack-request-timestamp")
    signature = normalised.get("x-slack-signature")
    if not timestamp or not signature:
        raise SlackRequestRejected("The request has no Slack signature headers.")
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise SlackRequestRejected(f"The Slack timestamp {timestamp!r} is not a number.") from exc
    if abs(now - sent_at) > MAX_AGE_SECONDS:
        raise SlackRequestRejected(
            f"The Slack signature is {int(abs(now - sent_at))} s from now (over {MAX_AGE_SECONDS} s): "
            "a replayed request, or this host's clock is wrong."
        )
    expected = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    if expected is None or not hmac.compare_digest(expected, signature):
        raise SlackRequestRejected("The Slack signature does not match: check SLACK_SIGNING_SECRET.")


def rejection(*, body: bytes, headers: Mapping[str, str], secret: str, now: float) -> SlackReply | None:
    """The 401 to answer when the request is not verifiably from Slack; None when it is."""
    try:
        verify_slack_request(body=body, headers=headers, secret=secret, now=now)
    except SlackRequestRejected as exc:
        log.warning("slack_request_rejected", reason=str(exc))
        return SlackReply(401, {"error": str(exc)})
    return None
