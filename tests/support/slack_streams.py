"""The Slack stand-in's streaming and assistant-view methods, in their real request and response shapes.

- `chat.startStream` (`channel`, `thread_ts`, `markdown_text` or `chunks`, `recipient_team_id` and
  `recipient_user_id`, which Slack requires outside DMs): `{"ok": true, "channel", "ts"}`;
- `chat.appendStream` (`channel`, `ts`, `markdown_text` or `chunks`): `{"ok": true, "channel", "ts"}`;
- `chat.stopStream` (`channel`, `ts`, optional text, `blocks`, `metadata`): `{"ok": true, "channel", "ts",
  "message"}` with the finished message (`streaming_state: "completed"`);
- `assistant.threads.setStatus` / `setSuggestedPrompts` (JSON bodies) and `setTitle` (form): `{"ok": true}`.

Errors as Slack names them: `channel_not_found`, `not_in_channel`, `invalid_arguments`, `invalid_chunks`,
`msg_too_long` (a text over 12,000 characters), `missing_recipient_team_id` / `missing_recipient_user_id`,
`message_not_in_streaming_state` (appending to or stopping a stopped stream), `streaming_mode_mismatch` (a
stream opened with `markdown_text` takes no `chunks` and the reverse), `streaming_state_conflict`
(`chat.update` on a message still streaming), `invalid_thread_ts`; 429 with Retry-After through `fail_next`.
Like Slack, a reply from the bot clears the status of its thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT_CHARS = 12_000
MAX_PROMPTS = 4
CHUNK_TYPES = frozenset({"markdown_text", "task_update", "plan_update"})


@dataclass
class _Stream:
    recipient: tuple[str, str]
    mode: str | None = None
    """`markdown_text` or `chunks`, fixed by the first call that carried text."""
    completed: bool = False
    texts: list[str] = field(default_factory=list)


class StreamingMethods:
    """Mixed into `SlackStandin`, whose lock is held while these run."""

    _lock: threading.Condition
    _messages: dict[tuple[str, str], dict[str, Any]]
    _next_ts: Callable[[], str]
    _resolve_channel: Callable[[str], str]

    def _init_streaming(self) -> None:
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._outside: set[str] = set()
        self.thread_status: dict[tuple[str, str], str] = {}
        """(channel, thread_ts) -> the status set last; a bot reply in the thread clears it."""
        self.suggested_prompts: dict[tuple[str, str], dict[str, Any]] = {}
        """(channel, thread_ts) -> {"title", "prompts"} as set last."""
        self.thread_titles: dict[tuple[str, str], str] = {}

    def remove_bot_from(self, channel: str) -> None:
        """The bot is not a member of `channel`: posting or streaming there is `not_in_channel`."""
        with self._lock:
            self._outside.add(channel)

    def streamed_text(self, channel: str, ts: str) -> str:
        """The markdown a stream showed, in the order its calls carried it."""
        with self._lock:
            return "".join(self._streams[(self._resolve_channel(channel), ts)].texts)

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._messages[(self._resolve_channel(channel), ts)])

    def bot_replied(self, channel: str, thread_ts: str) -> None:
        """Slack clears an assistant thread's status when the bot replies in it."""
        self.thread_status.pop((channel, thread_ts), None)

    def _chat_start_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(str(args.get("channel", "")))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self._outside:
            return {"ok": False, "error": "not_in_channel"}
        if not args.get("thread_ts"):
            return {"ok": False, "error": "invalid_arguments"}
        if channel[:1] != "D":
            for key in ("recipient_team_id", "recipient_user_id"):
                if not args.get(key):
                    return {"ok": False, "error": f"missing_{key}"}
        stream = _Stream(
            recipient=(str(args.get("recipient_team_id", "")), str(args.get("recipient_user_id", "")))
        )
        error = _take_text(stream, args, required=False)
        if error:
            return {"ok": False, "error": error}
        ts = self._next_ts()
        self._streams[(channel, ts)] = stream
        self._messages[(channel, ts)] = self._streamed_message(stream, ts, thread_ts=str(args["thread_ts"]))
        self.bot_replied(channel, str(args["thread_ts"]))
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_append_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._open_stream(args)
        if isinstance(found, str):
            return {"ok": False, "error": found}
        channel, ts, stream = found
        error = _take_text(stream, args, required=True)
        if error:
            return {"ok": False, "error": error}
        self._messages[(channel, ts)]["text"] = "".join(stream.texts)
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_stop_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._open_stream(args)
        if isinstance(found, str):
            return {"ok": False, "error": found}
        channel, ts, stream = found
        blocks = args.get("blocks")
        if blocks is not None and not (isinstance(blocks, list) and all(isinstance(b, dict) for b in blocks)):
            return {"ok": False, "error": "invalid_blocks"}
        error = _take_text(stream, args, required=False)
        if error:
            return {"ok": False, "error": error}
        stream.completed = True
        message = self._messages[(channel, ts)]
        message.update(text="".join(stream.texts), streaming_state="completed")
        if blocks is not None:
            message["blocks"] = blocks
        if args.get("metadata") is not None:
            message["metadata"] = args["metadata"]
        return {"ok": True, "channel": channel, "ts": ts, "message": dict(message)}

    def _open_stream(self, args: dict[str, Any]) -> tuple[str, str, _Stream] | str:
        channel = self._resolve_channel(str(args.get("channel", "")))
        ts = str(args.get("ts", ""))
        if not channel:
            return "channel_not_found"
        stream = self._streams.get((channel, ts))
        if stream is None:
            return "message_not_found"
        if stream.completed:
            return "message_not_in_streaming_state"
        return channel, ts, stream

    def _streamed_message(self, stream: _Stream, ts: str, *, thread_ts: str) -> dict[str, Any]:
        return {
            "type": "message",
            "user": "UBOT",
            "bot_id": "B111",
            "app_id": "A111",
            "team": "T111",
            "text": "".join(stream.texts),
            "ts": ts,
            "thread_ts": thread_ts,
            "streaming_state": "in_progress",
        }

    def _streaming_conflict(self, channel: str, ts: str) -> str | None:
        """`chat.update` cannot edit a message still streaming."""
        stream = self._streams.get((channel, ts))
        return "streaming_state_conflict" if stream is not None and not stream.completed else None

    def _assistant_set_status(self, args: dict[str, Any]) -> dict[str, Any]:
        where = _assistant_thread(args)
        if isinstance(where, str):
            return {"ok": False, "error": where}
        if not isinstance(args.get("status"), str):
            return {"ok": False, "error": "invalid_arguments"}
        self.thread_status[where] = str(args["status"])
        if not args["status"]:
            del self.thread_status[where]
        return {"ok": True}

    def _assistant_set_suggested_prompts(self, args: dict[str, Any]) -> dict[str, Any]:
        where = _assistant_thread(args, thread_required=False)
        if isinstance(where, str):
            return {"ok": False, "error": where}
        prompts = args.get("prompts")
        if (
            not isinstance(prompts, list)
            or not 1 <= len(prompts) <= MAX_PROMPTS
            or not all(
                isinstance(p, dict)
                and isinstance(p.get("title"), str)
                and isinstance(p.get("message"), str)
                and p["title"]
                and p["message"]
                for p in prompts
            )
        ):
            return {"ok": False, "error": "invalid_arguments"}
        self.suggested_prompts[where] = {"title": args.get("title"), "prompts": prompts}
        return {"ok": True}

    def _assistant_set_title(self, args: dict[str, Any]) -> dict[str, Any]:
        where = _assistant_thread(args)
        if isinstance(where, str):
            return {"ok": False, "error": where}
        if not args.get("title"):
            return {"ok": False, "error": "invalid_arguments"}
        self.thread_titles[where] = str(args["title"])
        return {"ok": True}


STREAMING_HANDLERS: dict[str, Callable[[Any, dict[str, Any]], dict[str, Any]]] = {
    "chat.startStream": StreamingMethods._chat_start_stream,
    "chat.appendStream": StreamingMethods._chat_append_stream,
    "chat.stopStream": StreamingMethods._chat_stop_stream,
    "assistant.threads.setStatus": StreamingMethods._assistant_set_status,
    "assistant.threads.setSuggestedPrompts": StreamingMethods._assistant_set_suggested_prompts,
    "assistant.threads.setTitle": StreamingMethods._assistant_set_title,
}


def _take_text(stream: _Stream, args: dict[str, Any], *, required: bool) -> str | None:
    """Add the call's text to the stream; the error Slack would answer instead, if any."""
    chunks, markdown = args.get("chunks"), args.get("markdown_text")
    if chunks is None and markdown is None:
        return "invalid_arguments" if required else None
    mode = "chunks" if chunks is not None else "markdown_text"
    if stream.mode not in (None, mode):
        return "streaming_mode_mismatch"
    if chunks is not None:
        if not isinstance(chunks, list) or not all(_valid_chunk(c) for c in chunks):
            return "invalid_chunks"
        texts = [str(c["text"]) for c in chunks if c["type"] == "markdown_text"]
    elif not isinstance(markdown, str):
        return "invalid_arguments"
    else:
        texts = [markdown]
    if any(len(text) > MAX_TEXT_CHARS for text in texts):
        return "msg_too_long"
    stream.mode = mode
    stream.texts.extend(texts)
    return None


def _valid_chunk(chunk: Any) -> bool:
    if not isinstance(chunk, dict) or chunk.get("type") not in CHUNK_TYPES:
        return False
    return chunk["type"] != "markdown_text" or isinstance(chunk.get("text"), str)


def _assistant_thread(args: dict[str, Any], *, thread_required: bool = True) -> tuple[str, str] | str:
    """Assistant threads live in the DM with the bot; suggested prompts may name no thread (the latest)."""
    channel, thread_ts = str(args.get("channel_id", "")), str(args.get("thread_ts", ""))
    if not channel:
        return "channel_not_found"
    if channel[:1] != "D":
        return "channel_type_not_supported"
    if thread_required and not thread_ts:
        return "invalid_thread_ts"
    return channel, thread_ts
