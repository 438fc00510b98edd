"""The Slack Web API client, with Slack's own retry handlers.

`base_url` points it at a stand-in in tests (`SLACK_API_URL`). Rate limits (429 with Retry-After) and dropped
connections are retried by slack_sdk; anything else surfaces as `SlackApiError`, which `slack_errors` maps
to the product's errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from common.errors import KbError, SlackUnavailable, SlackUserNotFound
from common.logs import get_logger

TIMEOUT_SECONDS = 10

log = get_logger(__name__)


def web_client(
    *, token: str, base_url: str, timeout: float = TIMEOUT_SECONDS, retries: bool = True
) -> WebClient:
    """`retries=False` for calls that must fit in Slack's 3 s acknowledgement: waiting out a 429 would not."""
    return WebClient(
        token=token,
        base_url=base_url if base_url.endswith("/") else f"{base_url}/",
        timeout=int(timeout),
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ]
        if retries
        else [],
    )


@contextmanager
def slack_errors(method: str) -> Iterator[None]:
    """What slack_sdk could not retry away, as the product's errors: `SlackUnavailable` (429 and 5xx left
    after its retries, or Slack unreachable) when trying later can help, else `KbError` naming the code."""
    try:
        yield
    except SlackApiError as exc:
        error = str(exc.response.get("error", ""))
        if exc.response.status_code == 429 or exc.response.status_code >= 500:
            raise SlackUnavailable(f"Slack {method} failed ({error or exc.response.status_code}).") from exc
        raise KbError(f"Slack refused {method}: {error}. Check the app's scopes and channel access.") from exc
    except SlackClientError as exc:
        raise SlackUnavailable(f"Slack {method} could not be reached: {exc}") from exc


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
