"""Where the bot answers and how confidential its answers may be there.

Chroma holds no per-user permissions, so the conversation decides the ceiling: a public channel is read by
anyone in the workspace and never gets `confidential` content whatever the settings say; private channels
and direct messages get what the settings allow (default `internal`).
"""

from __future__ import annotations

from dataclasses import dataclass

from common.store.chunk import Classification


@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    allowed_channels: frozenset[str]
    """Empty: every channel the bot has been invited to."""
    channel_ceiling: Classification
    private_ceiling: Classification
    dm_ceiling: Classification

    def answers_in(self, channel: str, channel_type: str) -> bool:
        return channel_type == "im" or not self.allowed_channels or channel in self.allowed_channels

    def ceiling(self, channel_type: str) -> Classification:
        if channel_type == "im":
            return self.dm_ceiling
        if channel_type in ("group", "mpim"):
            return self.private_ceiling
        return "internal" if self.channel_ceiling == "confidential" else self.channel_ceiling
