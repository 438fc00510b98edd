"""The Slack Web API client, with Slack's own retry handlers.

`base_url` points it at a stand-in in tests (`SLACK_API_URL`). Rate limits (429 with Retry-After) and dropped
connections are retried by slack_sdk; anything else surfaces as `SlackApiError` for the caller to map.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from common.errors import SlackUserNotFound
from common.logs import get_logger

TIMEOUT_SECONDS = 10

log = get_logger(__name__)


def web_client(*, token: str, base_url: str) -> WebClient:
    return WebClient(
        token=token,
        base_url=base_url if base_url.endswith("/") else f"{base_url}/",
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


def email_of(slack: WebClient, user_id: str) -> str | None:
    """The Slack user's email, when their profile shows it (the app has `users:read.email`)."""
    try:
        found = slack.users_info(user=user_id)
    except SlackClientError as exc:
        log.warning("user_email_unknown", user_id=user_id, error=str(exc))
        return None
    profile = (found.get("user") or {}).get("profile") or {}
    email = profile.get("email")
    return str(email) if email else None


def slack_user_id(slack: WebClient, email: str) -> str:
    """The Slack user with this email; `SlackUserNotFound` when there is none (or no email to look by)."""
    if "@" not in email:
        raise SlackUserNotFound(f"owner {email!r} has no email address to find them on Slack by")
    try:
        found = slack.users_lookupByEmail(email=email)
    except SlackApiError as exc:
        if exc.response.get("error") == "users_not_found":
            raise SlackUserNotFound(f"no Slack user has the email {email}") from exc
        raise
    return str(found["user"]["id"])
