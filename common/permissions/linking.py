"""Making, checking and removing the link between a Slack user and a Confluence account.

Three ways, in the order people meet them: by email (the Slack profile's email is a Confluence user's,
as on Data Center and on Cloud when emails are visible to the sync account), by Atlassian OAuth 2.0
(3LO) for Cloud, and by a personal access token for Data Center. A link made with a token is only as good
as the token: it is checked (refreshed when it has lapsed) at most once per permission TTL, and a token
Atlassian refuses ends the link's use until the person links again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from common.errors import LinkRefused, ServiceUnavailable
from common.events.model import UserConfluenceLinkChanged
from common.events.publishers import EventPublisher
from common.logs import get_logger
from common.permissions.atlassian_oauth import AtlassianOAuth, PersonalTokenCheck, Tokens
from common.permissions.directory import Directory
from common.permissions.link_state import StateSigner
from common.permissions.links import LinkStore, UserConfluenceLink
from common.permissions.token_cipher import TokenCipher

log = get_logger(__name__)

TOKEN_SEPARATOR = "\n"
LAST_USED_RESOLUTION_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class TokenLinking:
    """What linking by token needs; absent when CONFLUENCE_LINK_KEY is unset (email matching only)."""

    cipher: TokenCipher
    signer: StateSigner
    oauth: AtlassianOAuth | None
    """Cloud, when the OAuth app is configured."""
    personal_tokens: PersonalTokenCheck | None
    """Data Center."""


class Linker:
    def __init__(
        self,
        *,
        links: LinkStore,
        directory: Directory,
        tokens: TokenLinking | None,
        publisher: EventPublisher,
        ttl_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._links = links
        self._directory = directory
        self._tokens = tokens
        self._publisher = publisher
        self._ttl = ttl_seconds
        self._clock = clock
        self._monotonic = monotonic
        self._checked: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def offers_oauth(self) -> bool:
        return self._tokens is not None and self._tokens.oauth is not None

    @property
    def offers_personal_token(self) -> bool:
        return self._tokens is not None and self._tokens.personal_tokens is not None

    # --- finding the link of an asker --------------------------------------------------------------

    def link_for(self, slack_user_id: str, *, email: Callable[[], str | None]) -> UserConfluenceLink | None:
        """The asker's link, made by email when they have none and have not unlinked; its token checked.
        Raises `LinkRefused` when the token was refused, `PermissionsUnavailable` when that cannot be told."""
        link = self._links.get(slack_user_id)
        if link is None:
            return self._link_by_email(slack_user_id, email)
        if link.method != "email" and self._needs_check(slack_user_id):
            link = self._check_token(link)
            with self._lock:
                self._checked[slack_user_id] = self._monotonic()
        return link

    def _link_by_email(
        self, slack_user_id: str, email: Callable[[], str | None]
    ) -> UserConfluenceLink | None:
        if self._links.opted_out(slack_user_id):
            return None
        address = email()
        account_id = self._directory.account_for_email(address) if address else None
        if account_id is None:
            return None
        now = self._clock()
        link = UserConfluenceLink(
            slack_user_id=slack_user_id,
            account_id=account_id,
            method="email",
            linked_at=now,
            last_used_at=now,
        )
        if self._links.save_by_email(link):
            self._announce(link, "linked")
            return link
        return self._links.get(slack_user_id)

    def _needs_check(self, slack_user_id: str) -> bool:
        with self._lock:
            checked = self._checked.get(slack_user_id)
        return checked is None or self._monotonic() - checked >= self._ttl

    def _check_token(self, link: UserConfluenceLink) -> UserConfluenceLink:
        tokens = self._require_tokens()
        secret = tokens.cipher.decrypt(link.token)
        if link.method == "pat":
            if tokens.personal_tokens is None:
                raise LinkRefused("Personal access tokens are not accepted here any more; link again.")
            if tokens.personal_tokens.account_id(secret) != link.account_id:
                raise LinkRefused("That personal access token now belongs to someone else; link again.")
            return link
        if tokens.oauth is None:
            raise LinkRefused("Linking with Atlassian is switched off here; link again when it is back.")
        now = self._clock()
        if link.token_expires_at is not None and link.token_expires_at > now:
            return link
        _, _, refresh_token = secret.partition(TOKEN_SEPARATOR)
        fresh = tokens.oauth.refresh(refresh_token, now=now)
        renewed = link.model_copy(
            update={"token": _seal(tokens.cipher, fresh), "token_expires_at": fresh.expires_at}
        )
        self._links.save(renewed)
        log.info("confluence_token_refreshed", slack_user_id=link.slack_user_id)
        return renewed

    def touch(self, link: UserConfluenceLink) -> None:
        """Records use at most hourly (every write is a compare-and-swap of the shared file); a failure to
        record it is logged, never allowed to stop the answer it was for."""
        now = self._clock()
        if (now - link.last_used_at).total_seconds() < LAST_USED_RESOLUTION_SECONDS:
            return
        try:
            self._links.touch(link.slack_user_id, now)
        except ServiceUnavailable as exc:
            log.warning("link_use_not_recorded", slack_user_id=link.slack_user_id, error=str(exc))

    # --- linking explicitly ------------------------------------------------------------------------

    def authorize_url(self, slack_user_id: str) -> str:
        tokens = self._require_tokens()
        if tokens.oauth is None:
            raise LinkRefused("Linking with Atlassian is not set up here (CONFLUENCE_OAUTH_CLIENT_ID).")
        return tokens.oauth.authorize_url(tokens.signer.issue(slack_user_id, now=self._clock()))

    def complete_oauth(self, *, state: str, code: str) -> UserConfluenceLink:
        """The callback: a state that is forged, expired or spent links nobody."""
        tokens = self._require_tokens()
        if tokens.oauth is None:
            raise LinkRefused("Linking with Atlassian is not set up here (CONFLUENCE_OAUTH_CLIENT_ID).")
        now = self._clock()
        verified = tokens.signer.verify(state, now=now)
        if not self._links.spend_state(verified.nonce, now):
            raise LinkRefused("This link request was already used; start again from Slack.")
        fresh = tokens.oauth.exchange(code, now=now)
        account_id = tokens.oauth.account_id(fresh.access_token)
        link = UserConfluenceLink(
            slack_user_id=verified.slack_user_id,
            account_id=account_id,
            method="oauth",
            linked_at=now,
            last_used_at=now,
            token=_seal(tokens.cipher, fresh),
            token_expires_at=fresh.expires_at,
        )
        return self._save(link)

    def link_personal_token(self, slack_user_id: str, token: str) -> UserConfluenceLink:
        tokens = self._require_tokens()
        if tokens.personal_tokens is None:
            raise LinkRefused("Personal access tokens are not accepted here (Confluence Cloud uses OAuth).")
        account_id = tokens.personal_tokens.account_id(token.strip())
        now = self._clock()
        link = UserConfluenceLink(
            slack_user_id=slack_user_id,
            account_id=account_id,
            method="pat",
            linked_at=now,
            last_used_at=now,
            token=tokens.cipher.encrypt(token.strip()),
        )
        return self._save(link)

    def unlink(self, slack_user_id: str) -> UserConfluenceLink | None:
        """Deletes the link and its tokens; email matching will not link the person again on its own."""
        removed = self._links.remove(slack_user_id, self._clock())
        with self._lock:
            self._checked.pop(slack_user_id, None)
        if removed is not None:
            self._announce(removed, "unlinked")
        return removed

    def all(self) -> list[UserConfluenceLink]:
        return self._links.all()

    def _save(self, link: UserConfluenceLink) -> UserConfluenceLink:
        self._links.save(link)
        with self._lock:
            self._checked[link.slack_user_id] = self._monotonic()
        self._announce(link, "linked")
        return link

    def _announce(self, link: UserConfluenceLink, action: str) -> None:
        log.info(
            "confluence_link_changed", slack_user_id=link.slack_user_id, method=link.method, action=action
        )
        self._publisher.publish(
            [
                UserConfluenceLinkChanged(
                    slack_user_id=link.slack_user_id,
                    confluence_account_id=link.account_id,
                    method=link.method,
                    action=action,
                )
            ]
        )

    def _require_tokens(self) -> TokenLinking:
        if self._tokens is None:
            raise LinkRefused("Linking by token is not set up here (CONFLUENCE_LINK_KEY); ask an admin.")
        return self._tokens


def _seal(cipher: TokenCipher, tokens: Tokens) -> str:
    return cipher.encrypt(f"{tokens.access_token}{TOKEN_SEPARATOR}{tokens.refresh_token}")
