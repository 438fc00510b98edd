"""Where pages come from: an explicit folder, else configured Confluence, else the bundled sample space."""

from __future__ import annotations

from pathlib import Path

from common.config import Settings
from common.confluence.folder_source import FolderPageSource
from common.confluence.models import PageSource
from common.confluence.rest_source import RestPageSource
from common.errors import ConfigError


def build_source(settings: Settings, *, from_dir: Path | None = None) -> PageSource:
    if from_dir is not None:
        return FolderPageSource(from_dir)
    if settings.confluence_url is not None:
        return build_rest_source(settings)
    return FolderPageSource(settings.sample_space_dir)


def build_rest_source(settings: Settings, *, max_retries: int | None = None) -> RestPageSource:
    """`max_retries` below CONFLUENCE_MAX_RETRIES for lookups someone is waiting on (an answer)."""
    if settings.confluence_url is None:
        raise ConfigError("CONFLUENCE_URL is not set: set it to e.g. https://acme.atlassian.net/wiki.")
    if not settings.space_keys:
        raise ConfigError(
            "CONFLUENCE_URL is set but CONFLUENCE_SPACES is empty: list the space keys to sync, e.g. ENG,HR."
        )
    if settings.confluence_api_token is None:
        raise ConfigError(
            "CONFLUENCE_API_TOKEN is not set: use an API token with CONFLUENCE_USER (Cloud) "
            "or a personal access token (Data Center)."
        )
    return RestPageSource(
        url=settings.confluence_url,
        user=settings.confluence_user or None,
        token=settings.confluence_api_token.get_secret_value(),
        spaces=settings.space_keys,
        timeout_seconds=settings.confluence_timeout_seconds,
        max_retries=settings.confluence_max_retries if max_retries is None else max_retries,
        max_retry_after_seconds=settings.confluence_max_retry_after_seconds,
        page_limit=settings.confluence_page_limit,
        everyone_groups=settings.everyone_groups,
    )
