"""The Slack Web API client, built once from settings, with Slack's own retry handlers.

`SLACK_API_URL` points it at a stand-in in tests. Rate limits (429 with Retry-After) and dropped connections
are retried by slack_sdk; anything else surfaces as `SlackApiError` for the caller to map.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from common.config import Settings
from common.errors import ConfigError

TIMEOUT_SECONDS = 10


def web_client(settings: Settings) -> WebClient:
    if settings.slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set: give the Slack app's bot token (xoxb-…).")
    base_url = (
        settings.slack_api_url if settings.slack_api_url.endswith("/") else f"{settings.slack_api_url}/"
    )
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=base_url,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )
