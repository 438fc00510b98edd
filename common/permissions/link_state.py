"""The OAuth `state`: signed, bound to one Slack user, short-lived, and spent on first use.

Atlassian hands the state back unchanged on the callback; it is the only thing tying the browser that comes
back to the Slack user who clicked. So it carries the user, a random nonce and an expiry under an HMAC
(SHA-256) keyed from `CONFLUENCE_LINK_KEY`; a forged or altered state fails the signature, an old one its
expiry, and a replayed one the spent-nonce record in the link store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from common.errors import LinkRefused

STATE_LIFETIME = timedelta(hours=1)
"""Long enough to click the button under an answer read a little later; short enough to be useless stolen."""


@dataclass(frozen=True, slots=True)
class LinkState:
    slack_user_id: str
    nonce: str
    expires_at: datetime


class StateSigner:
    def __init__(self, key: str) -> None:
        self._key = hashlib.sha256(b"kb-link-state\0" + key.encode()).digest()

    def issue(self, slack_user_id: str, *, now: datetime) -> str:
        body = json.dumps(
            {
                "u": slack_user_id,
                "n": secrets.token_urlsafe(16),
                "e": int((now + STATE_LIFETIME).timestamp()),
            },
            separators=(",", ":"),
        ).encode()
        return f"{_b64(body)}.{_b64(self._mac(body))}"

    def verify(self, state: str, *, now: datetime) -> LinkState:
        body_part, _, mac_part = state.partition(".")
        try:
            body, mac = _unb64(body_part), _unb64(mac_part)
        except ValueError as exc:
            raise LinkRefused("This link request is not one of ours; start again from Slack.") from exc
        if not mac_part or not hmac.compare_digest(mac, self._mac(body)):
            raise LinkRefused("This link request is not one of ours; start again from Slack.")
        fields = json.loads(body)
        expires_at = datetime.fromtimestamp(int(fields["e"]), tz=now.tzinfo)
        if now >= expires_at:
            raise LinkRefused("This link request has expired; start again from Slack.")
        return LinkState(slack_user_id=str(fields["u"]), nonce=str(fields["n"]), expires_at=expires_at)

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64") from exc
