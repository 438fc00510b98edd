"""A first draft of a document, from a Slack thread or a short description, for a person to edit.

With an LLM configured the LLM writes it, grounded in the thread or the description only, and its reply is
validated before anyone sees it. Without one, `OfflineDrafter` arranges what was said: the thread's
substantive messages (not "thanks" or "+1") under headings, each with its author, and every link kept.
Either way the person sees and edits the draft before submitting it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from common.ai.llm import LlmClient
from common.errors import LlmError

MAX_TITLE_CHARS = 150
MAX_BODY_CHARS = 20_000
PROMPT_CHARS = 12_000
MIN_WORDS = 4
"""Shorter messages ("thanks!", "+1", "will do") carry no knowledge of their own."""

_ACKNOWLEDGEMENT = re.compile(
    r"^(thanks?( you)?|thx|ty|cheers|\+1|ok(ay)?|got it|lgtm|will do|nice|great|perfect|done)\W*$", re.I
)
_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]+))?>")
_SLACK_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]+))?>")
_EMOJI = re.compile(r":[a-z0-9_+-]+:")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    author: str
    """How to credit them: a display name, else the Slack user id."""
    text: str
    """As Slack sent it (mrkdwn: `<url|text>` links, `<@U…>` mentions)."""


@dataclass(frozen=True, slots=True)
class Draft:
    title: str
    body: str
    """Markdown."""


class Drafter(Protocol):
    def draft(
        self, *, messages: Sequence[ThreadMessage] = (), description: str = "", title: str = ""
    ) -> Draft: ...


class OfflineDrafter:
    def draft(
        self, *, messages: Sequence[ThreadMessage] = (), description: str = "", title: str = ""
    ) -> Draft:
        said = [(m.author, markdown_of(m.text)) for m in messages if is_substantive(m.text)]
        if description.strip():
            said.insert(0, ("", markdown_of(description)))
        if not said:
            return Draft(title=title.strip(), body="")
        first_author, first = said[0]
        sections = ["## Summary", "", first + (f" — {first_author}" if first_author else "")]
        if len(said) > 1:
            sections += ["", "## Details", ""]
            sections += [f"- **{author or 'Note'}:** {text}" for author, text in said[1:]]
        links = list(dict.fromkeys(url for _, text in said for url in re.findall(r"\]\((\S+?)\)", text)))
        if links:
            sections += ["", "## Links", "", *(f"- <{url}>" for url in links)]
        return Draft(title=(title.strip() or _title_from(first))[:MAX_TITLE_CHARS], body="\n".join(sections))


class LlmDrafter:
    SYSTEM = (
        "You turn a Slack conversation (or a short description) into a company knowledge-base document.\n"
        "Use ONLY what the messages say; never add facts, names, numbers or links they do not contain.\n"
        "Write Markdown: a short summary first, then sections with ## headings, lists for steps, and keep "
        "every link. Credit no one by name in the text.\n"
        'Reply with a JSON object only: {"title": string (at most 100 characters), "body": string}.'
    )

    def __init__(self, client: LlmClient) -> None:
        self._client = client

    def draft(
        self, *, messages: Sequence[ThreadMessage] = (), description: str = "", title: str = ""
    ) -> Draft:
        lines = [f"{m.author}: {markdown_of(m.text)}" for m in messages if is_substantive(m.text)]
        source = "\n".join(lines) if lines else markdown_of(description)
        prompt = (f"Working title: {title}\n\n" if title else "") + source[:PROMPT_CHARS]
        raw = self._client.complete_json(system=self.SYSTEM, user=prompt)
        try:
            reply = _Reply.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "reply"
            raise LlmError(f"The LLM's draft is unusable: {where!r}: {first['msg']}.") from exc
        return Draft(title=title.strip() or reply.title.strip(), body=reply.body.strip())


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS)
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)


def is_substantive(text: str) -> bool:
    plain = _EMOJI.sub("", _SLACK_MENTION.sub("", text)).strip()
    return len(plain.split()) >= MIN_WORDS and not _ACKNOWLEDGEMENT.match(plain)


def markdown_of(text: str) -> str:
    """Slack mrkdwn as Markdown: links `[text](url)`, mentions by name, `*bold*` as `**bold**`."""
    text = _SLACK_LINK.sub(lambda m: f"[{m.group(2) or m.group(1)}]({m.group(1)})", text)
    text = _SLACK_MENTION.sub(lambda m: f"@{m.group(2) or m.group(1)}", text)
    text = re.sub(r"(?<![\w*])\*(\S[^*\n]*?\S|\S)\*(?![\w*])", r"**\1**", text)
    return text.strip()


def _title_from(text: str) -> str:
    plain = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text).replace("**", "").strip()
    first = _SENTENCE_END.split(plain, maxsplit=1)[0].strip().rstrip("?.!:")
    return first if len(first) <= 80 else first[:79].rsplit(" ", 1)[0] + "…"
