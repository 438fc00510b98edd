"""Permissions: the directory (groups and emails through the sync account), links, and the resolver.

Build the resolver once per process (the answer service, the search API and the CLI each do), so its
directory's TTL cache serves every answer the process writes.
"""

from __future__ import annotations

from functools import cache

from slack_sdk.errors import SlackClientError

from common.config import Settings
from common.confluence.folder_source import FolderPageSource
from common.errors import ConfigError
from common.logs import get_logger
from common.permissions.access import AccessResolver
from common.permissions.atlassian_oauth import AtlassianOAuth, OAuthApp, PersonalTokenCheck
from common.permissions.directory import Directory, PeopleSource
from common.permissions.link_state import StateSigner
from common.permissions.linking import Linker, TokenLinking
from common.permissions.links import LinkStore
from common.permissions.oauth_callback import OAuthCallback
from common.permissions.token_cipher import TokenCipher
from common.runtime.infra import build_versioned_files, build_web_client
from common.runtime.publishing import build_publisher
from common.runtime.sources import build_rest_source

log = get_logger(__name__)


PERMISSION_LOOKUP_RETRIES = 1
"""Someone is waiting for their answer: when Confluence is down, say so within seconds (fail closed)."""


def build_people_source(settings: Settings) -> PeopleSource:
    """Confluence when configured, else the sample space (its space.json names people and groups)."""
    if settings.confluence_url is not None:
        return build_rest_source(
            settings, max_retries=min(settings.confluence_max_retries, PERMISSION_LOOKUP_RETRIES)
        )
    return FolderPageSource(settings.sample_space_dir)


def build_directory(settings: Settings) -> Directory:
    return Directory(build_people_source(settings), ttl_seconds=settings.confluence_permission_ttl_seconds)


def build_token_linking(settings: Settings) -> TokenLinking | None:
    if settings.confluence_link_key is None:
        return None
    key = settings.confluence_link_key.get_secret_value()
    return TokenLinking(
        cipher=TokenCipher(key),
        signer=StateSigner(key),
        oauth=_oauth(settings),
        personal_tokens=(
            PersonalTokenCheck(settings.confluence_url, timeout_seconds=settings.confluence_timeout_seconds)
            if settings.confluence_url is not None and not settings.confluence_user
            else None
        ),
    )


def _oauth(settings: Settings) -> AtlassianOAuth | None:
    if settings.confluence_oauth_client_id is None:
        return None
    missing = [
        name
        for name, value in (
            ("CONFLUENCE_OAUTH_CLIENT_SECRET", settings.confluence_oauth_client_secret),
            ("CONFLUENCE_OAUTH_REDIRECT_URL", settings.confluence_oauth_redirect_url),
            ("CONFLUENCE_URL", settings.confluence_url),
        )
        if value is None
    ]
    if missing:
        raise ConfigError(f"CONFLUENCE_OAUTH_CLIENT_ID is set but {', '.join(missing)} is not.")
    assert settings.confluence_oauth_client_secret is not None
    return AtlassianOAuth(
        OAuthApp(
            client_id=settings.confluence_oauth_client_id,
            client_secret=settings.confluence_oauth_client_secret.get_secret_value(),
            redirect_uri=str(settings.confluence_oauth_redirect_url),
            auth_url=settings.atlassian_auth_url,
            api_url=settings.atlassian_api_url,
            site_url=str(settings.confluence_url),
        ),
        timeout_seconds=settings.confluence_timeout_seconds,
    )


def build_linker(settings: Settings, directory: Directory | None = None) -> Linker:
    return Linker(
        links=LinkStore(build_versioned_files(settings, "identity")),
        directory=directory or build_directory(settings),
        tokens=build_token_linking(settings),
        publisher=build_publisher(settings),
        ttl_seconds=settings.confluence_permission_ttl_seconds,
    )


def build_access_resolver(settings: Settings) -> AccessResolver:
    directory = build_directory(settings)
    return AccessResolver(linker=build_linker(settings, directory), directory=directory)


def build_oauth_callback(settings: Settings) -> OAuthCallback:
    linker = cache(lambda: build_linker(settings))
    slack = cache(lambda: build_web_client(settings))

    def tell(user_id: str, text: str) -> None:
        try:
            slack().chat_postMessage(channel=user_id, text=text)
        except SlackClientError as exc:
            log.warning("link_outcome_not_sent", error=str(exc))

    return OAuthCallback(linker=linker, tell=tell)
