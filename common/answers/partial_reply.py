"""The `answer` of an LLM's JSON reply, read while the reply is still being written.

Streamed, the reply (`{"grounded": …, "answer": …, "cited": […]}`) arrives a few characters at a time, and
what is shown of it can never be taken back. So only the part of `answer` no later character can change is
released: not a citation marker still open (`[1` may become `[12]`, or `[1, 3]`), not trailing whitespace
(the finished answer is stripped, and a marker citing nothing takes the space before it with it), and
nothing more once `grounded` says the passages do not answer. Markers of passages that do not exist are
dropped as the finished answer drops them, so the shown text is always the start of the checked answer.
"""

from __future__ import annotations

import re
from collections.abc import Set

from pydantic_core import from_json

from common.answers.citations import known_markers

_OPEN_TAIL = re.compile(r"\s*(?:\[[\d\s,]*)?$")
"""What may still turn into (part of) a citation marker, or be stripped, when the next characters come."""


class PartialReply:
    def __init__(self, numbers: Set[int]) -> None:
        self._numbers = numbers
        self._pieces: list[str] = []
        self.shown = ""
        """The answer text released so far."""

    @property
    def text(self) -> str:
        """The raw reply received so far (the whole reply once the stream has ended)."""
        return "".join(self._pieces)

    def feed(self, piece: str) -> str:
        """Take the next piece of the reply; returns the answer text it made safe to show (often none)."""
        self._pieces.append(piece)
        stable = self._stable()
        if stable is None or not stable.startswith(self.shown):
            return ""
        released = stable[len(self.shown) :]
        self.shown = stable
        return released

    def _stable(self) -> str | None:
        try:
            reply = from_json(self.text, allow_partial="trailing-strings")
        except ValueError:
            return None
        if not isinstance(reply, dict) or reply.get("grounded") is False:
            return None
        answer = reply.get("answer")
        if not isinstance(answer, str):
            return None
        text = answer.lstrip()
        tail = _OPEN_TAIL.search(text)
        return known_markers(text[: tail.start() if tail else len(text)], self._numbers).lstrip()
