"""What people's reactions and thread replies around an answer say about it: pure parsing, no I/O.

Behavioural signals are analytics only (plan phase 4): they never move a quality score, so a wrong guess
here costs a number in a report, not a page's ranking. That is why plain word lists are enough: they are
easy to read and to extend, and every guess is kept with the reply's kind, not its text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from common.errors import InvalidInteraction

SIGNALS = (
    "source_click",
    "reaction_positive",
    "reaction_negative",
    "reaction_removed",
    "gratitude",
    "frustration",
    "follow_up",
    "rephrase",
)

POSITIVE_REACTIONS = frozenset(
    {
        "+1",
        "thumbsup",
        "white_check_mark",
        "heavy_check_mark",
        "tada",
        "raised_hands",
        "clap",
        "heart",
        "star",
        "100",
        "pray",
        "bulb",
        "rocket",
    }
)
NEGATIVE_REACTIONS = frozenset(
    {
        "-1",
        "thumbsdown",
        "x",
        "confused",
        "disappointed",
        "thinking_face",
        "face_with_raised_eyebrow",
        "rage",
        "angry",
        "no_entry_sign",
        "warning",
    }
)

ReplyKind = Literal["gratitude", "frustration", "follow_up"]

_GRATITUDE = re.compile(
    r"\b(thanks|thank you|thank u|thx|ty|cheers|perfect|great|awesome|brilliant|helpful|that helps|"
    r"that helped|that worked|works now|got it|appreciated?|legend|exactly what i needed)\b"
)
_FRUSTRATION = re.compile(
    r"\b(wrong|incorrect|useless|unhelpful|not helpful|outdated|out of date|nonsense|makes no sense|"
    r"not what i (asked|meant|need|needed)|(doesn'?t|does not|didn'?t|did not) (help|answer|work)|"
    r"that'?s not (it|right|true|correct)|not (right|correct|true)|still (not|doesn'?t|can'?t)|nope|"
    r"no idea what|irrelevant|ugh|wtf)\b"
)
_QUESTION_START = re.compile(
    r"^(what|how|where|when|why|who|which|can|could|is|are|does|do|did|should|will|would|may|and|but|"
    r"also|what about|how about)\b"
)
MAX_GRATITUDE_WORDS = 12
"""A longer reply that says thanks usually goes on to ask something."""


@dataclass(frozen=True, slots=True)
class Reaction:
    event_id: str
    user: str
    name: str
    """Without a skin tone (`+1`, not `+1::skin-tone-2`)."""
    added: bool
    channel: str
    ts: str
    """The message reacted to."""
    item_user: str
    """Who wrote that message (Slack sends it; the bot's answers carry the bot's user id)."""

    @property
    def signal(self) -> str | None:
        """The signal this reaction is, or None when it says nothing about the answer."""
        if self.name not in POSITIVE_REACTIONS | NEGATIVE_REACTIONS:
            return None
        if not self.added:
            return "reaction_removed"
        return "reaction_positive" if self.name in POSITIVE_REACTIONS else "reaction_negative"

    @property
    def detail(self) -> str:
        tone = "positive" if self.name in POSITIVE_REACTIONS else "negative"
        return f"{tone}:{self.name}"


def reaction_of(envelope: dict[str, Any], event: dict[str, Any]) -> Reaction | None:
    """A `reaction_added` or `reaction_removed` on a message; None for one on a file or a file comment."""
    item = event.get("item")
    if not isinstance(item, dict):
        raise InvalidInteraction("A reaction event without an item object.")
    if item.get("type") != "message":
        return None
    fields = {"user": event.get("user"), "reaction": event.get("reaction"), "channel": item.get("channel")}
    fields["ts"] = item.get("ts")
    missing = [name for name, value in fields.items() if not isinstance(value, str) or not value]
    if missing:
        raise InvalidInteraction(f"A reaction event without {', '.join(missing)}.")
    return Reaction(
        event_id=str(envelope.get("event_id", "")),
        user=str(fields["user"]),
        name=str(fields["reaction"]).split("::", 1)[0],
        added=event.get("type") == "reaction_added",
        channel=str(fields["channel"]),
        ts=str(fields["ts"]),
        item_user=str(event.get("item_user") or ""),
    )


def classify_reply(text: str) -> ReplyKind:
    """What a reply in an answer's thread is: thanks, frustration, or more conversation (a follow-up)."""
    plain = " ".join(text.lower().replace("\u2019", "'").split())
    if _FRUSTRATION.search(plain):
        return "frustration"
    asks = "?" in plain or bool(_QUESTION_START.match(plain))
    if not asks and _GRATITUDE.search(plain) and len(plain.split()) <= MAX_GRATITUDE_WORDS:
        return "gratitude"
    return "follow_up"


def answers_reply(kind: ReplyKind, text: str) -> bool:
    """Whether the bot should answer the reply: thanks needs no answer, a complaint only if it asks."""
    if kind == "gratitude":
        return False
    if kind == "frustration":
        return "?" in text
    return True
