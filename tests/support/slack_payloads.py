"""Slack requests as Slack sends them, built from the real payloads in ../shared/fixtures/slack (read in
place) and adjusted per test: mentions, DMs, button clicks, modal submissions, slash commands."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from tests.support.paths import FIXTURES

SLACK_FIXTURES = FIXTURES / "slack"


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SLACK_FIXTURES / name).read_text())
    return loaded


def mention(
    event_id: str, text: str, *, ts: str, channel: str = "C111", user: str = "W222"
) -> dict[str, Any]:
    payload = fixture("bolt-python__event_callback__app_mention.json")
    payload["event_id"] = event_id
    payload["event"].update(text=f"<@W111> {text}", ts=ts, channel=channel, user=user)
    return payload


def direct_message(event_id: str, text: str, *, ts: str, user: str = "W222") -> dict[str, Any]:
    payload = fixture("bolt-python__event_callback__message_im.json")
    payload["event_id"] = event_id
    payload["event"].update(text=text, ts=ts, user=user)
    payload["event"].pop("thread_ts", None)
    return payload


def assistant_question(
    event_id: str, text: str, *, thread_ts: str, ts: str, user: str = "W222", channel: str = "D111"
) -> dict[str, Any]:
    """A question in a thread of Slack's assistant view: the fixture as it is (a DM `message` with the
    thread's `thread_ts`, bolt-python's `user_message_event_body`)."""
    payload = fixture("bolt-python__event_callback__message_im.json")
    payload["event_id"] = event_id
    payload["event"].update(
        text=text, ts=ts, event_ts=ts, thread_ts=thread_ts, user=user, parent_user_id=user, channel=channel
    )
    return payload


def assistant_thread_event(
    event_id: str,
    *,
    thread_ts: str,
    user: str = "W222",
    channel: str = "D111",
    looking_at: str = "C222",
    kind: str = "assistant_thread_started",
) -> dict[str, Any]:
    """`assistant_thread_started` (or `_context_changed`) in the fixture's envelope, the event shaped as
    bolt-python's `thread_started_event_body` (tests/scenario_tests/test_events_assistant.py)."""
    payload = fixture("bolt-python__event_callback__message_im.json")
    payload["event_id"] = event_id
    payload["event"] = {
        "type": kind,
        "assistant_thread": {
            "user_id": user,
            "context": {"channel_id": looking_at, "team_id": "T111", "enterprise_id": "E111"},
            "channel_id": channel,
            "thread_ts": thread_ts,
        },
        "event_ts": f"{thread_ts}1",
    }
    return payload


def thread_reply(
    event_id: str, text: str, *, thread_ts: str, ts: str, channel: str = "C111", user: str = "W222"
) -> dict[str, Any]:
    """A plain message in a thread of a public channel (Slack sends `message.channels` events for it)."""
    payload = fixture("bolt-python__event_callback__message_channel.json")
    payload["event_id"] = event_id
    payload["event"].update(text=text, ts=ts, thread_ts=thread_ts, channel=channel, user=user)
    return payload


def reaction(
    event_id: str, name: str, *, item_ts: str, channel: str = "C111", user: str = "W222", added: bool = True
) -> dict[str, Any]:
    """A `reaction_added` (or `_removed`) event in the envelope of the real message fixture; the event itself
    has the fields of Slack's reference (https://api.slack.com/events/reaction_added), item_user the bot."""
    payload = fixture("bolt-python__event_callback__message_channel.json")
    payload["event_id"] = event_id
    payload["event"] = {
        "type": "reaction_added" if added else "reaction_removed",
        "user": user,
        "reaction": name,
        "item_user": "UBOT",
        "item": {"type": "message", "channel": channel, "ts": item_ts},
        "event_ts": f"{item_ts}1",
    }
    return payload


def button_click(
    action_id: str, value: str, *, user: str, response_url: str, message_blocks: list[dict[str, Any]] | None
) -> dict[str, Any]:
    payload = fixture("bolt-python__block_actions__button.json")
    payload["user"]["id"] = user
    payload["response_url"] = response_url
    payload["actions"][0].update(action_id=action_id, value=value, block_id="kb_feedback")
    if message_blocks is not None:
        payload["message"] = {"type": "message", "ts": "111.222", "text": "answer", "blocks": message_blocks}
    return payload


def problem_report(ref_value: str, kind: str, *, user: str, correction: str = "") -> dict[str, Any]:
    """The "what was wrong" modal, submitted."""
    payload = fixture("bolt-python__view_submission.json")
    payload["user"]["id"] = user
    view = payload["view"]
    view["callback_id"] = "kb_problem_modal"
    view["private_metadata"] = json.dumps({"ref": ref_value, "channel": "C111"})
    view["state"] = {
        "values": {
            "kind": {"kind_choice": {"type": "radio_buttons", "selected_option": {"value": kind}}},
            "correction": {"correction_text": {"type": "plain_text_input", "value": correction or None}},
        }
    }
    return payload


def quick_knowledge(title: str, text: str, *, user: str, space: str = "it") -> dict[str, Any]:
    """The "save to the knowledge base" modal, submitted."""
    payload = fixture("bolt-python__view_submission.json")
    payload["user"]["id"] = user
    payload["view"]["callback_id"] = "kb_quick_knowledge"
    payload["view"]["private_metadata"] = json.dumps(
        {"link": "https://workspace-domain.slack.com/archives/C111/p1700000000000100", "channel": "C111"}
    )
    payload["view"]["state"] = {
        "values": {
            "title": {"value": {"type": "plain_text_input", "value": title}},
            "text": {"value": {"type": "plain_text_input", "value": text}},
            "space": {"value": {"type": "plain_text_input", "value": space}},
            "topics": {"value": {"type": "plain_text_input", "value": ""}},
            "classification": {"value": {"type": "static_select", "selected_option": {"value": "internal"}}},
        }
    }
    return payload


def slash_command(
    command: str, text: str, *, user: str, channel: str = "C111", response_url: str = ""
) -> bytes:
    """A slash command as Slack posts it (form-encoded; `response_url` takes replies for 30 minutes)."""
    fields = {"command": command, "text": text, "trigger_id": "t.1", "channel_id": channel, "user_id": user}
    if response_url:
        fields["response_url"] = response_url
    return urlencode(fields).encode()


def submitted_view(view: dict[str, Any], values: dict[str, str], *, user: str) -> dict[str, Any]:
    """`view` (as the Slack stand-in holds it) submitted by `user`: each input block's state is what
    `values` gives for its block id, else the element's initial value, as Slack fills it."""
    payload = fixture("bolt-python__view_submission.json")
    payload["user"]["id"] = user
    state: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        typed = values.get(block["block_id"])
        entry: dict[str, Any] = {"type": element["type"]}
        if element["type"] == "static_select":
            chosen = {"value": typed} if typed is not None else element.get("initial_option")
            entry["selected_option"] = chosen
        elif element["type"] == "users_select":
            entry["selected_user"] = typed if typed is not None else element.get("initial_user")
        else:
            entry["value"] = typed if typed is not None else element.get("initial_value")
        state[block["block_id"]] = {element["action_id"]: entry}
    payload["view"] = {
        **payload["view"],
        **{k: view[k] for k in ("id", "callback_id", "private_metadata", "blocks", "hash") if k in view},
        "state": {"values": state},
    }
    return payload


def message_shortcut(
    callback_id: str, *, user: str, channel: str, ts: str, thread_ts: str = ""
) -> dict[str, Any]:
    """A message shortcut on a message of `channel` (a thread's root or a reply in it)."""
    message: dict[str, Any] = {"type": "message", "user": "W222", "ts": ts, "text": "…"}
    if thread_ts:
        message["thread_ts"] = thread_ts
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "trigger_id": "111.222.valid",
        "user": {"id": user, "name": user.lower()},
        "team": {"id": "T111", "domain": "workspace-domain"},
        "channel": {"id": channel, "name": "test-channel"},
        "message": message,
        "response_url": "",
    }
