"""Checking that a request really comes from Slack, before anything in it is believed.

Slack signs `v0:{timestamp}:{raw body}` with the app's signing secret (HMAC-SHA256). A request with no
signature, a wrong one, or a timestamp more than five minutes from now is refused: the window stops a
captured request from being replayed later.

The HMAC is computed over the raw bytes here rather than with slack_sdk's `SignatureVerifier`, which decodes
the body as UTF-8 first and so raises on a body that is not (a 500 for anyone who sends such bytes).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from common.errors import SlackRequestRejected
from common.infra.http_reply import HttpReply
from common.logs import get_logger

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
    age = abs(int(now) - sent_at)  # in ints: a float overflows on a timestamp of hundreds of digits
    if age > MAX_AGE_SECONDS:
        raise SlackRequestRejected(
            f"The Slack signature is {age} s from now (over {MAX_AGE_SECONDS} s): "
            "a replayed request, or this host's clock is wrong."
        )
    basestring = b"v0:" + timestamp.encode() + b":" + body
    expected = b"v0=" + hmac.new(secret.encode(), basestring, hashlib.sha256).hexdigest().encode()
    # Bytes, because `compare_digest` raises on a str holding anything but ASCII.
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        raise SlackRequestRejected("The Slack signature does not match: check SLACK_SIGNING_SECRET.")


def rejection(*, body: bytes, headers: Mapping[str, str], secret: str, now: float) -> HttpReply | None:
    """The 401 to answer when the request is not verifiably from Slack; None when it is."""
    try:
        verify_slack_request(body=body, headers=headers, secret=secret, now=now)
    except SlackRequestRejected as exc:
        log.warning("slack_request_rejected", reason=str(exc))
        return HttpReply(401, {"error": str(exc)})
    return None
