"""What a Slack Events API delivery means for the bot: a challenge, a question, a reaction, a new assistant
thread, or nothing.

Pure parsing, no I/O, so the webhook that runs it stays light enough to answer Slack in milliseconds. The bot
answers `app_mention`s in channels, direct messages, and follow-ups in a thread it already answered (Slack
sends those as plain `message` events with a `thread_ts`; whether the bot answered that thread is for the
worker to check). It never answers bots, itself, edits, joins or other message subtypes.

In Slack's assistant view ("Agents & AI apps", `features.assistant_view`) each conversation is a thread of
the DM with the bot: `assistant_thread_started` opens one, and every question in it is a DM `message` with
that `thread_ts` (bolt-python reads them the same way). `assistant_thread_context_changed` (the channel the
asker is looking at) changes nothing here: answers use the asker's own access wherever they look.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from common.errors import InvalidInteraction
from common.slack.signals import Reaction, reaction_of

MAX_QUESTION_CHARS = 2000
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
IGNORED_SUBTYPES_OK = frozenset({"thread_broadcast", "file_share"})
"""Message subtypes that are still a person asking something; every other subtype is ignored."""


@dataclass(frozen=True, slots=True)
class Challenge:
    challenge: str


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str


@dataclass(frozen=True, slots=True)
class Question:
    event_id: str
    team_id: str
    channel: str
    channel_type: str
    """`channel` (public), `group` (private), `im`, `mpim`."""
    user: str
    text: str
    ts: str
    thread_ts: str
    """The thread to answer in: the question's own ts when it starts one."""
    is_follow_up: bool
    """A plain message inside an existing thread: answer only if the bot already answered there."""
    assistant_thread: bool = False
    """Asked in a thread of the DM with the bot (the assistant view): the thread is the conversation."""

    @property
    def is_reply(self) -> bool:
        """Posted inside a thread (any conversation), so perhaps a reply to an answer."""
        return self.thread_ts != self.ts

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Question:
        try:
            question = cls(**json.loads(data))
        except (ValueError, TypeError) as exc:
            raise InvalidInteraction(f"A queued question is not one the webhook wrote: {exc}") from exc
        mistyped = [
            name
            for name, value in asdict(question).items()
            if not isinstance(value, bool if name in ("is_follow_up", "assistant_thread") else str)
        ]
        if mistyped:
            raise InvalidInteraction(
                f"A queued question has fields of the wrong type: {', '.join(mistyped)}."
            )
        return question


@dataclass(frozen=True, slots=True)
class AssistantThreadStarted:
    """Someone opened a new conversation with the bot in the assistant view."""

    event_id: str
    user: str
    channel: str
    """The DM the thread is in (`assistant_thread.channel_id`)."""
    thread_ts: str


def parse_event(body: bytes) -> Challenge | Ignored | Question | Reaction | AssistantThreadStarted:
    try:
        envelope = json.loads(body)
    except ValueError as exc:
        raise InvalidInteraction(f"The Events API body is not JSON: {exc}") from exc
    if not isinstance(envelope, dict):
        raise InvalidInteraction("The Events API body is not a JSON object.")
    kind = envelope.get("type")
    if kind == "url_verification":
        challenge = envelope.get("challenge")
        if not isinstance(challenge, str) or not challenge:
            raise InvalidInteraction("url_verification without a challenge.")
        return Challenge(challenge)
    if kind != "event_callback":
        return Ignored(f"envelope type {kind!r}")
    event = envelope.get("event")
    if not isinstance(event, dict):
        raise InvalidInteraction("event_callback without an event object.")
    if event.get("type") in ("reaction_added", "reaction_removed"):
        return _reaction(envelope, event)
    if event.get("type") == "assistant_thread_started":
        return _assistant_thread(envelope, event)
    if event.get("type") == "assistant_thread_context_changed":
        return Ignored("the channel an assistant thread looks at changed (answers do not depend on it)")
    return _question(envelope, event)


def _assistant_thread(envelope: dict[str, Any], event: dict[str, Any]) -> AssistantThreadStarted:
    thread = event.get("assistant_thread")
    if not isinstance(thread, dict):
        raise InvalidInteraction("assistant_thread_started without an assistant_thread object.")
    fields = {key: thread.get(key) for key in ("user_id", "channel_id", "thread_ts")}
    missing = [key for key, value in fields.items() if not isinstance(value, str) or not value]
    if missing:
        raise InvalidInteraction(f"assistant_thread_started without {', '.join(missing)}.")
    return AssistantThreadStarted(
        event_id=str(envelope.get("event_id", "")),
        user=str(fields["user_id"]),
        channel=str(fields["channel_id"]),
        thread_ts=str(fields["thread_ts"]),
    )


def _reaction(envelope: dict[str, Any], event: dict[str, Any]) -> Ignored | Reaction:
    """Envelopes without `authorizations` (older apps) cannot tell the bot's messages apart here: the
    answer registry then tells, by the message the reaction is on."""
    reaction = reaction_of(envelope, event)
    if reaction is None:
        return Ignored("a reaction on something other than a message")
    bots = _bot_user_ids(envelope)
    if reaction.user in bots:
        return Ignored("the bot's own reaction")
    if bots and reaction.item_user and reaction.item_user not in bots:
        return Ignored("a reaction on someone else's message")
    return reaction


def _question(envelope: dict[str, Any], event: dict[str, Any]) -> Ignored | Question:
    event_type = event.get("type")
    if event_type not in ("app_mention", "message"):
        return Ignored(f"event type {event_type!r}")
    if event.get("bot_id") or event.get("bot_profile"):
        return Ignored("a bot's message")
    subtype = _optional_text(event, "subtype")
    if subtype and subtype not in IGNORED_SUBTYPES_OK:
        return Ignored(f"message subtype {subtype!r}")
    user = _optional_text(event, "user")
    if not user or user in _bot_user_ids(envelope):
        return Ignored("the bot's own message")
    channel_type = str(event.get("channel_type") or _channel_type(str(event.get("channel", ""))))
    thread_ts = event.get("thread_ts")
    if event_type == "message":
        if channel_type == "im":
            pass
        elif not thread_ts or thread_ts == event.get("ts"):
            return Ignored("a channel message that does not mention the bot")
        elif _MENTION.search(str(event.get("text", ""))):
            return Ignored("a mention in a thread (answered as its app_mention event)")
    text = _MENTION.sub("", str(event.get("text", ""))).strip()
    if not text:
        return Ignored("an empty message")
    return Question(
        event_id=str(envelope.get("event_id", "")),
        team_id=str(envelope.get("team_id", "")),
        channel=str(event.get("channel", "")),
        channel_type=channel_type,
        user=str(user),
        text=text[:MAX_QUESTION_CHARS],
        ts=str(event.get("ts", "")),
        thread_ts=str(thread_ts or event.get("ts", "")),
        is_follow_up=event_type == "message"
        and channel_type != "im"
        and bool(thread_ts)
        and thread_ts != event.get("ts"),
        assistant_thread=channel_type == "im" and bool(thread_ts) and thread_ts != event.get("ts"),
    )


def _optional_text(event: dict[str, Any], key: str) -> str | None:
    """A field compared with known values: any other type than text is not an event Slack sends (and an
    unhashable one would fail the comparison itself)."""
    value = event.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInteraction(f"The event's `{key}` is a {type(value).__name__}, not text.")
    return value


def _bot_user_ids(envelope: dict[str, Any]) -> set[str]:
    authorizations = envelope.get("authorizations") or []
    if not isinstance(authorizations, list):
        raise InvalidInteraction("The envelope's `authorizations` is not a list.")
    ids = {str(a.get("user_id")) for a in authorizations if isinstance(a, dict) and a.get("is_bot")}
    return ids


def _channel_type(channel: str) -> str:
    """app_mention events carry no channel_type; Slack's id prefix tells: C public, G private, D direct."""
    return {"C": "channel", "G": "group", "D": "im"}.get(channel[:1], "channel")
