"""An HTTP stand-in for an OpenAI-compatible chat-completions API (`POST /v1/chat/completions`).

Replies in the real wire format (`chat.completion` objects; errors as `{"error": {...}}` with 429 and
`Retry-After`), from a queue of scripted replies, and logs every request body for assertions.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.support.local_http import LocalHttpServer


@dataclass(frozen=True)
class Scripted:
    status: int = 200
    content: str | None = None
    retry_after: int | None = None
    raw_body: str | None = None


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
        return Response(
            json.dumps(_completion(body["model"], step.content or "")), content_type="application/json"
        )


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
