"""`kb links`: who is linked to which Confluence account, and removing a link (its tokens go with it)."""

from __future__ import annotations

import json

import click

from common.cli.support import out, reports_errors, settings_with_logging
from common.runtime.permissions import build_linker


@click.group("links")
def links_group() -> None:
    """Slack users linked to Confluence accounts (permission-aware answers)."""


@links_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the links as JSON lines.")
@reports_errors
def list_links(as_json: bool) -> None:
    """Every link: Slack user, Confluence account, how and when it was made, when last used."""
    links = build_linker(settings_with_logging()).all()
    if as_json:
        for link in links:
            click.echo(json.dumps(link.model_dump(mode="json", exclude={"token", "token_expires_at"})))
        return
    if not links:
        out.print("No Slack user is linked to a Confluence account yet.")
    for link in links:
        out.print(
            f"{link.slack_user_id}  {link.account_id}  by {link.method}  linked {link.linked_at:%Y-%m-%d}"
            f"  last used {link.last_used_at:%Y-%m-%d}"
        )


@links_group.command("remove")
@click.argument("slack_user_id")
@reports_errors
def remove_link(slack_user_id: str) -> None:
    """Unlink SLACK_USER_ID (as `/kb-unlink` does): tokens deleted, no automatic re-linking by email."""
    removed = build_linker(settings_with_logging()).unlink(slack_user_id)
    if removed is None:
        out.print(f"{slack_user_id} had no link; email matching will not link them from now on.")
    else:
        out.print(f"Unlinked {slack_user_id} from {removed.account_id}.")
