"""The Slack Web API client, with Slack's own retry handlers.

`base_url` points it at a stand-in in tests (`SLACK_API_URL`). Rate limits (429 with Retry-After) and dropped
connections are retried by slack_sdk; anything else surfaces as `SlackApiError` for the caller to map.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

TIMEOUT_SECONDS = 10


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
