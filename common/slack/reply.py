"""The HTTP answer a Slack-facing handler gives: a status and an optional JSON body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SlackReply:
    status: int
    body: dict[str, Any] | None = None
