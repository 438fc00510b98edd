"""An HTTP stand-in for an OpenAI-compatible chat-completions API (`POST /v1/chat/completions`).

Replies in the real wire format (`chat.completion` objects; with `"stream": true`, server-sent
`chat.completion.chunk` events whose `choices[0].delta.content` carry the text, the last with
`finish_reason`, then `data: [DONE]`; errors as `{"error": {...}}` with 429 and `Retry-After`), from a queue
of scripted replies, and logs every request body for assertions. A streamed reply can be cut off part-way (no
`finish_reason`, no `[DONE]`, as when a connection drops) or held part-way until the test lets it go on.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.support.local_http import LocalHttpServer

HELD_SECONDS = 10.0
"""How long a held stream waits to be let go before it breaks off (so a test that never lets go fails)."""


@dataclass(frozen=True)
class Scripted:
    status: int = 200
    content: str | None = None
    retry_after: int | None = None
    raw_body: str | None = None
    piece_chars: int = 8
    """Streamed: the content is sent this many characters per chunk."""
    cut_after: int | None = None
    """Streamed: the stream ends after this many chunks, unfinished."""
    hold_after: int | None = None
    """Streamed: after this many chunks the stream waits for `go_on` (then goes on)."""
    go_on: threading.Event | None = None
    respond: Callable[[str], dict[str, Any]] | None = None
    """The reply made from the request's user message (an LLM that uses what it was given)."""


class LlmStandin(LocalHttpServer):
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.request_times: list[float] = []
        self._script: deque[Scripted] = deque()
        super().__init__()

    @property
    def url(self) -> str:
        return f"{super().url}/v1"

    def reply_json(self, obj: dict[str, Any]) -> None:
        self._script.append(Scripted(content=json.dumps(obj)))

    def reply(self, item: Scripted) -> None:
        self._script.append(item)

    def reply_stream(self, obj: dict[str, Any], **options: Any) -> None:
        """A JSON reply for a streamed request, split into chunks (see `Scripted` for the options)."""
        self._script.append(Scripted(content=json.dumps(obj), **options))

    @Request.application  # type: ignore[misc]
    def wsgi(self, request: Request) -> Response:
        self.request_times.append(time.monotonic())
        if request.path != "/v1/chat/completions" or request.method != "POST":
            return _error(
                404, "invalid_request_error", f"Unknown request URL: {request.method} {request.path}"
            )
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or "messages" not in body or "model" not in body:
            return _error(400, "invalid_request_error", "you must provide a model and messages")
        self.requests.append(body)
        step = self._script.popleft() if self._script else Scripted(status=500)
        if step.respond is not None:
            step = replace(step, content=json.dumps(step.respond(str(body["messages"][-1]["content"]))))
        if step.raw_body is not None:
            return Response(step.raw_body, status=step.status, content_type="application/json")
        if step.status == 429:
            response = _error(429, "requests", "Rate limit reached for requests", code="rate_limit_exceeded")
            if step.retry_after is not None:
                response.headers["Retry-After"] = str(step.retry_after)
            return response
        if step.status != 200:
            return _error(
                step.status, "server_error", "The server had an error while processing your request."
            )
        if body.get("stream") is True:
            return Response(_chunks(body["model"], step), content_type="text/event-stream")
        return Response(
            json.dumps(_completion(body["model"], step.content or "")), content_type="application/json"
        )


def _chunks(model: str, step: Scripted) -> Iterator[bytes]:
    content = step.content or ""
    pieces = [content[i : i + step.piece_chars] for i in range(0, len(content), step.piece_chars)]
    yield _event(_chunk(model, {"role": "assistant", "content": ""}, None))
    for sent, piece in enumerate(pieces):
        if sent == step.cut_after:
            return
        if sent == step.hold_after and step.go_on is not None and not step.go_on.wait(HELD_SECONDS):
            return
        yield _event(_chunk(model, {"content": piece}, None))
    if step.cut_after is None or step.cut_after > len(pieces):
        yield _event(_chunk(model, {}, "stop"))
        yield b"data: [DONE]\n\n"


def _event(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


def _chunk(model: str, delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_standin",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


def _error(status: int, kind: str, message: str, code: str | None = None) -> Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return Response(json.dumps(body), status=status, content_type="application/json")
