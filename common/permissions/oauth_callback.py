"""The page Atlassian's OAuth redirect lands on (`confluence_oauth`): finish the link, say what happened.

The browser that arrives here is not authenticated with us; only the signed, single-use state says whose
Slack account the code is for (`common.permissions.link_state`). Whatever goes wrong, the page says it in
words and links nobody; the Slack user also hears the outcome by DM, where they asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape

from common.errors import LinkRefused, PermissionsUnavailable
from common.logs import get_logger
from common.permissions.linking import Linker

log = get_logger(__name__)

PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


@dataclass(frozen=True, slots=True)
class CallbackPage:
    status: int
    html: str

    def for_flask(self) -> tuple[str, int, dict[str, str]]:
        headers = {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": PAGE_POLICY,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        }
        return self.html, self.status, headers


class OAuthCallback:
    def __init__(self, *, linker: Callable[[], Linker], tell: Callable[[str, str], None]) -> None:
        self._linker = linker
        self._tell = tell
        """Sends a Slack user a DM (user id, text)."""

    def handle(self, args: Mapping[str, str]) -> CallbackPage:
        if args.get("error"):
            reason = args.get("error_description") or args["error"]
            return _page(400, "Not linked", f"Atlassian did not grant access ({reason}). Nothing was linked.")
        state, code = args.get("state", ""), args.get("code", "")
        if not state or not code:
            return _page(400, "Not linked", "This address needs the state and code Atlassian sends back.")
        try:
            link = self._linker().complete_oauth(state=state, code=code)
        except LinkRefused as exc:
            log.warning("confluence_oauth_refused", reason=str(exc))
            return _page(400, "Not linked", str(exc))
        except PermissionsUnavailable as exc:
            log.warning("confluence_oauth_unavailable", reason=str(exc))
            return _page(503, "Not linked yet", f"{exc} Try again from Slack in a few minutes.")
        self._tell(
            link.slack_user_id,
            "Your Confluence account is linked: my answers in DMs now include pages only you can see. "
            "`/kb-unlink` undoes it.",
        )
        return _page(
            200, "Linked", "Your Confluence account is linked. You can close this tab and go back to Slack."
        )


def _page(status: int, title: str, message: str) -> CallbackPage:
    body = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>Knowledge base: {escape(title)}</title>"
        "<body style='font:16px system-ui;max-width:36em;margin:4em auto'>"
        f"<h1>{escape(title)}</h1><p>{escape(message)}</p></body></html>"
    )
    return CallbackPage(status, body)
