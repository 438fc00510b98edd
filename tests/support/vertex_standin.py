"""An HTTP stand-in for Vertex AI's Gemini endpoints, in their real wire format:
`POST /v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent` answers a
`GenerateContentResponse` (`candidates[].content.parts[].text`, `finishReason`, `usageMetadata`,
`modelVersion`); `:streamGenerateContent?alt=sse` answers the same objects as server-sent events; errors
are Google's `{"error": {"code", "message", "status"}}` (429 `RESOURCE_EXHAUSTED` with `Retry-After`).
Replies come from a script; every request is logged for assertions."""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.support.local_http import LocalHttpServer

_PATH = re.compile(
    r"^/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/publishers/google/models/"
    r"(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$"
)
_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass(frozen=True)
class Step:
    status: int = 200
    texts: tuple[str, ...] = ()
    """The reply's text, one piece per streamed event (joined in one part for generateContent)."""
    finish_reason: str | None = "STOP"
    """None: the last streamed event has none, as when a stream breaks off."""
    retry_after: int | None = None
    raw: dict[str, Any] | None = None
    """A whole response body to send as it is (malformed replies)."""
    sse: str | None = None
    """A whole event-stream body to send as it is (malformed events)."""


@dataclass
class VertexRequest:
    project: str
    location: str
    model: str
    method: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class VertexStandin(LocalHttpServer):
    def __init__(self) -> None:
        self.requests: list[VertexRequest] = []
        self._script: deque[Step] = deque()
        super().__init__()

    def reply(self, step: Step) -> None:
        self._script.append(step)

    def reply_json(self, obj: dict[str, Any]) -> None:
        self._script.append(Step(texts=(json.dumps(obj),)))

    @Request.application  # type: ignore[misc]
    def wsgi(self, request: Request) -> Response:
        match = _PATH.match(request.path)
        if match is None or request.method != "POST":
            return _error(404, f"The requested URL {request.path} was not found on this server.")
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
            return _error(400, "Invalid JSON payload received. Unknown name or missing `contents`.")
        streaming = match["method"] == "streamGenerateContent"
        if streaming and request.args.get("alt") != "sse":
            return _error(400, "This stand-in streams only server-sent events (alt=sse).")
        self.requests.append(
            VertexRequest(**match.groupdict(), body=body, headers=dict(request.headers.items()))
        )
        step = self._script.popleft() if self._script else Step(status=500)
        if step.status != 200:
            response = _error(step.status, "Resource exhausted. Please try again later.")
            if step.retry_after is not None:
                response.headers["Retry-After"] = str(step.retry_after)
            return response
        if step.sse is not None:
            return Response(step.sse, content_type="text/event-stream")
        if step.raw is not None:
            return Response(json.dumps(step.raw), content_type="application/json")
        if not streaming:
            reply = _response("".join(step.texts), step, match["model"])
            return Response(json.dumps(reply), content_type="application/json")
        events = [
            _response(text, step if i == len(step.texts) - 1 else None, match["model"])
            for i, text in enumerate(step.texts)
        ]
        sse = "".join(f"data: {json.dumps(event)}\r\n\r\n" for event in events)
        return Response(sse, content_type="text/event-stream")


def _response(text: str, last: Step | None, model: str) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
    if last is not None and last.finish_reason is not None:
        candidate["finishReason"] = last.finish_reason
    return {
        "candidates": [candidate],
        "usageMetadata": {"promptTokenCount": 120, "candidatesTokenCount": 24, "totalTokenCount": 144},
        "modelVersion": model,
        "createTime": "2026-12-03T06:30:00.000000Z",
        "responseId": "standin-response",
    }


def _error(status: int, message: str) -> Response:
    body = {"error": {"code": status, "message": message, "status": _STATUS.get(status, "UNKNOWN")}}
    return Response(json.dumps(body), status=status, content_type="application/json")
