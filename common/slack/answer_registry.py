"""Which Slack message is which answer, so what people do around it (reactions, thread replies, asking
again) can be told to analytics with the answer's id and the chunks it cited.

Slack's events name a message by channel and ts only. The worker that posts an answer records it here
under that message, under its thread, and as its asker's latest question; the light events webhook reads
those records back. They live with the other small shared records (the bucket in the cloud, KB_HOME on one
machine) because the webhook and the worker run on different instances.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from common.errors import InvalidInteraction
from common.infra.record_files import RecordFiles


@dataclass(frozen=True, slots=True)
class PostedAnswer:
    answer_id: str
    question_id: str
    channel: str
    ts: str
    """The answer message's own ts (what reactions name)."""
    thread_ts: str
    """The thread it was posted in (what replies name)."""
    asker: str
    cited_chunk_ids: tuple[str, ...]
    asked_at: float
    """Unix seconds."""
    question_vector: tuple[float, ...] = ()
    """The question's embedding, kept with the asker's latest question to spot a rephrasing."""

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> PostedAnswer:
        try:
            raw = json.loads(data)
            return cls(
                **{
                    **raw,
                    "cited_chunk_ids": tuple(raw["cited_chunk_ids"]),
                    "question_vector": tuple(raw.get("question_vector", ())),
                }
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidInteraction(f"An answer record is not one the worker wrote: {exc}") from exc


class AnswerRegistry:
    def __init__(self, records: RecordFiles) -> None:
        self._records = records

    def remember(self, answer: PostedAnswer) -> None:
        """The asker's record keeps no vector on the message and thread records: only rephrasing needs it."""
        plain = PostedAnswer(**{**asdict(answer), "question_vector": ()})
        self._records.write(_message(answer.channel, answer.ts), plain.to_bytes())
        self._records.write(_thread(answer.channel, answer.thread_ts), plain.to_bytes())
        self._records.write(_asker(answer.asker), answer.to_bytes())

    def by_message(self, channel: str, ts: str) -> PostedAnswer | None:
        return self._read(_message(channel, ts))

    def by_thread(self, channel: str, thread_ts: str) -> PostedAnswer | None:
        """The latest answer posted in the thread."""
        return self._read(_thread(channel, thread_ts))

    def latest_of(self, asker: str) -> PostedAnswer | None:
        return self._read(_asker(asker))

    def _read(self, name: str) -> PostedAnswer | None:
        data = self._records.read(name)
        return PostedAnswer.from_bytes(data) if data is not None else None


def _message(channel: str, ts: str) -> str:
    return f"message-{_safe(channel)}-{_safe(ts)}.json"


def _thread(channel: str, thread_ts: str) -> str:
    return f"thread-{_safe(channel)}-{_safe(thread_ts)}.json"


def _asker(user: str) -> str:
    return f"asker-{_safe(user)}.json"


def _safe(part: str) -> str:
    """Slack ids and timestamps are letters, digits and dots; anything else could escape the folder."""
    if not part or not all(c.isalnum() or c == "." for c in part):
        raise InvalidInteraction(f"{part!r} is not a Slack id or timestamp.")
    return part
