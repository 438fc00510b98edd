"""Gemini on Vertex AI (`LLM_PROVIDER=vertex`), for deployments that keep every model call in Google Cloud.

It speaks Vertex's own REST shapes: `POST …/publishers/google/models/{model}:generateContent` with
`systemInstruction`, `contents` and `generationConfig` (JSON replies requested with `responseMimeType`), and
`:streamGenerateContent?alt=sse` for the same reply as it is written. Credentials are Application Default
Credentials (the Cloud Run service account, which Terraform gives `roles/aiplatform.user`), refreshed as
they expire. `VERTEX_API_URL` points it at a stand-in instead; then no credentials are sent, as with
`GCS_ENDPOINT` for the storage emulator.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from common.ai.llm import JsonPoster
from common.errors import LlmError, LlmUnavailable

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
FINISHED_WELL = frozenset({"STOP", "MAX_TOKENS"})


class AdcToken:
    """A bearer token from Application Default Credentials, refreshed when it has expired."""

    def __init__(self) -> None:
        import google.auth

        self._credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
        self._lock = threading.Lock()

    def __call__(self) -> Mapping[str, str]:
        from google.auth.exceptions import GoogleAuthError
        from google.auth.transport.requests import Request

        with self._lock:
            if not self._credentials.valid:
                try:
                    self._credentials.refresh(Request())  # type: ignore[no-untyped-call]
                except GoogleAuthError as exc:
                    raise LlmUnavailable(
                        f"Could not get a Google access token for Vertex AI: {exc}. Check the service "
                        "account (Application Default Credentials) and its roles/aiplatform.user."
                    ) from exc
            return {"Authorization": f"Bearer {self._credentials.token}"}


def no_credentials() -> Mapping[str, str]:
    return {}


class VertexGeminiClient:
    def __init__(
        self,
        *,
        base_url: str,
        project: str,
        location: str,
        model: str,
        timeout_seconds: float,
        credentials: Callable[[], Mapping[str, str]] = no_credentials,
        max_attempts: int = 4,
    ) -> None:
        """`credentials`: called before every request for the auth headers to send (`AdcToken()` in the
        cloud, which refreshes the token as it expires; `no_credentials` for a stand-in)."""
        self._path = f"/v1/projects/{project}/locations/{location}/publishers/google/models/{model}"
        self._describe = f"Vertex AI model {model} in {project}/{location}"
        self._poster = JsonPoster(
            httpx.Client(base_url=base_url, timeout=timeout_seconds),
            describe=self._describe,
            credentials_hint="give the service account roles/aiplatform.user in this project",
            settings_hint="Check GCP_PROJECT, VERTEX_LOCATION and LLM_MODEL, and Vertex AI's quota.",
            max_attempts=max_attempts,
            headers=credentials,
        )

    def complete_json(self, *, system: str, user: str) -> dict[str, Any]:
        body = _request(system, user, json_reply=True)
        text = _text_of(self._poster.post(f"{self._path}:generateContent", body), self._describe)
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LlmError(f"{self._describe} answered text that is not JSON: {exc}") from exc
        if not isinstance(parsed, dict):
            raise LlmError(f"{self._describe} answered JSON that is not an object.")
        return parsed

    def stream_json(self, *, system: str, user: str) -> Iterator[str]:
        """The JSON reply's text piece by piece as Vertex sends it (server-sent events, one
        `GenerateContentResponse` each); the last one carries the `finishReason`."""
        body = _request(system, user, json_reply=True)
        finished = False
        events = self._poster.post_events(f"{self._path}:streamGenerateContent", body, params={"alt": "sse"})
        for event in events:
            piece = _text_of(event, self._describe, partial=True)
            if piece:
                yield piece
            candidates = event.get("candidates")
            if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
                finished = finished or candidates[0].get("finishReason") in FINISHED_WELL
        if not finished:
            raise LlmUnavailable(f"{self._describe} ended its stream before finishing the answer.")


def _request(system: str, user: str, *, json_reply: bool) -> dict[str, Any]:
    config: dict[str, Any] = {"temperature": 0}
    if json_reply:
        config["responseMimeType"] = "application/json"
    return {
        "systemInstruction": {"parts": [{"text": system}]},
        "contents": [{"role": "user", "parts": [{"text": user}]}],
        "generationConfig": config,
    }


def _text_of(response: dict[str, Any], describe: str, *, partial: bool = False) -> str:
    """The text of the first candidate; a blocked or empty reply is an error that says why."""
    candidates = response.get("candidates")
    if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
        feedback = response.get("promptFeedback") or {}
        reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
        if partial and reason is None:
            return ""
        raise LlmError(f"{describe} answered no candidate" + (f" (blocked: {reason})." if reason else "."))
    candidate = candidates[0]
    finish = candidate.get("finishReason")
    if finish is not None and finish not in FINISHED_WELL:
        raise LlmError(f"{describe} stopped its answer early ({finish}).")
    parts = (candidate.get("content") or {}).get("parts")
    if not isinstance(parts, list):
        if partial:
            return ""
        raise LlmError(f"{describe} answered a candidate without content parts.")
    texts = [part.get("text") for part in parts if isinstance(part, dict)]
    strings = [text for text in texts if isinstance(text, str)]
    if len(strings) != len(parts):
        raise LlmError(f"{describe} answered content parts that are not text.")
    return "".join(strings)
