"""The Slack app manifest declares every command and shortcut the app handles, and the scopes they need."""

from __future__ import annotations

from typing import Any

import yaml

from common.slack.account_links import UNLINK_COMMAND
from common.slack.document_blocks import SLASH_COMMAND as DOCUMENT_COMMAND
from common.slack.document_blocks import THREAD_SHORTCUT
from common.slack.private_answers import ASK_COMMAND
from common.slack.quick_knowledge_flow import SHORTCUT, SLASH_COMMAND
from tests.support.paths import REPO_ROOT


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO_ROOT / "slack" / "manifest.yaml").read_text())
    return loaded


def test_every_slash_command_the_app_handles_is_declared() -> None:
    commands = {c["command"] for c in manifest()["features"]["slash_commands"]}

    assert commands == {ASK_COMMAND, SLASH_COMMAND, DOCUMENT_COMMAND, UNLINK_COMMAND}


def test_every_message_shortcut_the_app_handles_is_declared() -> None:
    shortcuts = {s["callback_id"] for s in manifest()["features"]["shortcuts"] if s["type"] == "message"}

    assert shortcuts == {SHORTCUT, THREAD_SHORTCUT}


def test_the_scopes_cover_reading_threads_and_finding_people_by_email() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])

    assert {"channels:history", "groups:history", "users:read", "users:read.email", "commands"} <= scopes


def test_reactions_on_answers_are_subscribed_to_with_the_scope_to_read_them() -> None:
    events = set(manifest()["settings"]["event_subscriptions"]["bot_events"])
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])

    assert {
        "reaction_added",
        "reaction_removed",
        "message.channels",
        "message.groups",
        "message.im",
    } <= events
    assert "reactions:read" in scopes


def test_the_app_opens_in_the_assistant_view_with_the_scope_and_events_it_needs() -> None:
    loaded = manifest()
    events = set(loaded["settings"]["event_subscriptions"]["bot_events"])

    assert loaded["features"]["assistant_view"]["assistant_description"]
    assert "assistant:write" in set(loaded["oauth_config"]["scopes"]["bot"])
    assert {"assistant_thread_started", "assistant_thread_context_changed", "message.im"} <= events
