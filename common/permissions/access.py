"""Whose access counts for an answer, and what the asker is told when it cannot be worked out.

Where the answer goes decides it: a direct message (or an ephemeral reply, or the CLI's `--as`) is read
by the asker alone and gets what they may read in Confluence; a message in a channel can be read by every
member of the workspace and gets only unrestricted pages, whoever asked. When the asker's access cannot be
resolved (no link, Confluence down, a token refused) the answer falls back to unrestricted pages and says
why: it fails closed, never open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from common.errors import LinkRefused, PermissionsUnavailable
from common.logs import get_logger
from common.permissions.directory import Directory
from common.permissions.linking import Linker
from common.permissions.readers import ConfluenceReader
from common.store.access import EVERYONE, Reader

log = get_logger(__name__)

AccessStatus = Literal["everyone", "personal", "unlinked", "refused", "unavailable"]
Conversation = Literal["im", "channel"]

UNLINKED_NOTE = "I only searched pages everyone can read: I don't know your Confluence account yet."


@dataclass(frozen=True, slots=True)
class Access:
    reader: Reader
    status: AccessStatus
    note: str = ""
    """Why restricted pages were left out, for the asker; empty when nothing needs saying."""

    @property
    def offers_link(self) -> bool:
        """Whether linking an account would let the asker see more."""
        return self.status in ("unlinked", "refused")


EVERYONE_ACCESS = Access(EVERYONE, "everyone")


def conversation_of(channel_type: str) -> Conversation:
    """Slack's channel types: only `im` is read by the asker alone."""
    return "im" if channel_type == "im" else "channel"


class AccessResolver:
    def __init__(self, *, linker: Linker, directory: Directory) -> None:
        self._linker = linker
        self._directory = directory

    def for_slack_user(
        self, slack_user_id: str, conversation: Conversation, *, email: Callable[[], str | None]
    ) -> Access:
        if conversation == "channel":
            return EVERYONE_ACCESS
        try:
            link = self._linker.link_for(slack_user_id, email=email)
            if link is None:
                return Access(EVERYONE, "unlinked", UNLINKED_NOTE)
            access = self.for_account(link.account_id)
            self._linker.touch(link)
            return access
        except LinkRefused as exc:
            log.info("confluence_link_refused", slack_user_id=slack_user_id, reason=str(exc))
            return Access(EVERYONE, "refused", f"I only searched pages everyone can read: {exc}")
        except PermissionsUnavailable as exc:
            return _unavailable(exc)

    def for_email(self, email: str, conversation: Conversation = "im") -> Access:
        """`kb ask/search --as EMAIL`: the account with that email, as if they asked in a DM."""
        if conversation == "channel":
            return EVERYONE_ACCESS
        try:
            account_id = self._directory.account_for_email(email)
        except PermissionsUnavailable as exc:
            return _unavailable(exc)
        if account_id is None:
            return Access(
                EVERYONE,
                "unlinked",
                f"I only searched pages everyone can read: no Confluence user has the email {email}.",
            )
        return self.for_account(account_id)

    def for_account(self, account_id: str) -> Access:
        try:
            groups = self._directory.groups_of(account_id)
        except PermissionsUnavailable as exc:
            return _unavailable(exc)
        return Access(ConfluenceReader(account_id, groups), "personal")


def _unavailable(exc: PermissionsUnavailable) -> Access:
    log.warning("permissions_unavailable", error=str(exc))
    return Access(
        EVERYONE,
        "unavailable",
        "I only searched pages everyone can read: Confluence could not be reached to check what you may "
        "see. Ask again in a few minutes.",
    )
