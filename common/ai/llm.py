"""The LLM the product writes with (answers, AI metadata, drafts, the evaluation judge), behind one method:
`complete_json`, a reply that must be a JSON object; answers shown as they are written also use
`stream_json`, the same reply piece by piece. Two providers implement both: any OpenAI-compatible
chat-completions API (OpenAI, Azure, vLLM, Ollama), here, and Gemini on Vertex AI (`common.ai.vertex`).

Both retry transport errors, 429 (honouring `Retry-After`) and 5xx with backoff (`JsonPoster`); a stream is
retried only until it opens, never once text may have reached a reader. Everything else is the caller's
problem and surfaces as `LlmError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from common.errors import LlmError, LlmUnavailable

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 30.0


class LlmClient(Protocol):
    def complete_json(self, *, system: str, user: str) -> dict[str, Any]:
        """One completion of `user` under the `system` instruction; its reply must be a JSON object."""
        ...


class StreamingLlmClient(LlmClient, Protocol):
    def stream_json(self, *, system: str, user: str) -> Iterator[str]:
        """The text of the same reply as `complete_json`'s, piece by piece as the model writes it; the
        caller parses the whole. Raises `LlmUnavailable` when the stream breaks off before the model says
        it has finished, so a cut reply is never taken for a whole one."""
        ...


class OpenAiCompatibleClient:
    def __init__(
        self, *, base_url: str, api_key: str | None, model: str, timeout_seconds: float, max_attempts: int = 4
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = JsonPoster(
            httpx.Client(base_url=base_url, headers=headers, timeout=timeout_seconds),
            describe=f"The LLM at {base_url}",
            credentials_hint="check LLM_API_KEY",
            settings_hint="Check LLM_API_URL and the provider's status.",
            max_attempts=max_attempts,
        )
        self._model = model
        self._base_url = base_url

    def complete_json(self, *, system: str, user: str) -> dict[str, Any]:
        """One chat completion whose reply must be a JSON object."""
        payload = self._http.post("/chat/completions", self._body(system, user))
        try:
            content = payload["choices"][0]["message"]["content"]
            parsed = json.loads(content)
        except (KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
            raise LlmError(
                f"The LLM at {self._base_url} answered without a JSON object in choices[0]: {exc}"
            ) from exc
        if not isinstance(parsed, dict):
            raise LlmError(f"The LLM at {self._base_url} answered JSON that is not an object.")
        return parsed

    def stream_json(self, *, system: str, user: str) -> Iterator[str]:
        """Chat-completion chunks (`stream: true`): each `choices[0].delta.content` as it comes, until a
        chunk carries `finish_reason` and the stream ends with `data: [DONE]`."""
        finished = False
        for chunk in self._http.post_events(
            "/chat/completions", {**self._body(system, user), "stream": True}
        ):
            if "error" in chunk:
                raise LlmError(f"The LLM at {self._base_url} failed while streaming: {chunk['error']}")
            try:
                choice = chunk["choices"][0]
                piece = choice.get("delta", {}).get("content") or ""
                reason = choice.get("finish_reason")
            except (KeyError, IndexError, TypeError, AttributeError) as exc:
                raise LlmError(
                    f"The LLM at {self._base_url} streamed a chunk without choices[0].delta: {exc}"
                ) from exc
            if not isinstance(piece, str):
                raise LlmError(f"The LLM at {self._base_url} streamed content that is not text.")
            if piece:
                yield piece
            if reason is not None:
                if reason != "stop":
                    raise LlmError(f"The LLM at {self._base_url} stopped its answer early ({reason}).")
                finished = True
        if not finished:
            raise LlmUnavailable(f"The LLM at {self._base_url} ended its stream before finishing the answer.")

    def _body(self, system: str, user: str) -> dict[str, Any]:
        return {
            "model": self._model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        }


class JsonPoster:
    """POST a JSON body, get a JSON object back (`post`) or server-sent JSON events (`post_events`): retried
    on transport errors, 429 and 5xx (waiting what `Retry-After` asks, else backing off with jitter), with
    every failure named for a person to act on."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        describe: str,
        credentials_hint: str,
        settings_hint: str,
        max_attempts: int = 4,
        headers: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        self._http = http
        self._describe = describe
        self._credentials_hint = credentials_hint
        self._settings_hint = settings_hint
        self._max_attempts = max_attempts
        self._headers = headers

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._retried(lambda: self._send(path, body, params=None, stream=False))
        try:
            data = response.json()
        except ValueError as exc:
            raise LlmError(f"{self._describe} answered a body that is not JSON.") from exc
        if not isinstance(data, dict):
            raise LlmError(f"{self._describe} answered JSON that is not an object.")
        return data

    def post_events(
        self, path: str, body: dict[str, Any], *, params: Mapping[str, str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Each `data:` line of a `text/event-stream` reply as a JSON object, until `data: [DONE]` or the end.
        Retried like `post` until the reply starts; a stream that breaks off later raises `LlmUnavailable`
        and is not retried, because what it said may already be in front of a reader."""
        response = self._retried(lambda: self._send(path, body, params=params, stream=True))
        try:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line.removeprefix("data:").strip()
                if data == "[DONE]":
                    return
                try:
                    event = json.loads(data)
                except json.JSONDecodeError as exc:
                    raise LlmError(f"{self._describe} streamed an event that is not JSON: {exc}") from exc
                if not isinstance(event, dict):
                    raise LlmError(f"{self._describe} streamed an event that is not a JSON object.")
                yield event
        except httpx.TransportError as exc:
            raise LlmUnavailable(f"{self._describe} broke off its streamed reply: {exc!r}.") from exc
        finally:
            response.close()

    def _retried(self, send: Callable[[], httpx.Response]) -> httpx.Response:
        retrying = Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, LlmUnavailable | httpx.TransportError)),
            stop=stop_after_attempt(self._max_attempts),
            wait=_wait_retry_after,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return send()
        except (LlmUnavailable, httpx.TransportError) as exc:
            raise LlmUnavailable(
                f"{self._describe} kept failing after {self._max_attempts} attempts: {exc}. "
                f"{self._settings_hint}"
            ) from exc
        raise AssertionError("unreachable: tenacity reraises the last error")

    def _send(
        self, path: str, body: dict[str, Any], *, params: Mapping[str, str] | None, stream: bool
    ) -> httpx.Response:
        """One attempt; a refused one is read and closed here, an accepted stream is left open to read."""
        request = self._http.build_request(
            "POST", path, json=body, params=params, headers=dict(self._headers())
        )
        response = self._http.send(request, stream=stream)
        if response.status_code < 400:
            return response
        response.read()
        response.close()
        if response.status_code in RETRYABLE_STATUS:
            raise LlmUnavailable(
                f"{self._describe} answered HTTP {response.status_code}.", retry_after=_retry_after(response)
            )
        if response.status_code in (401, 403):
            raise LlmError(
                f"{self._describe} refused the credentials (HTTP {response.status_code}); "
                f"{self._credentials_hint}."
            )
        raise LlmError(f"{self._describe} answered HTTP {response.status_code}: {response.text[:300]}")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return min(max(0.0, float(value)), MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        return None


_backoff = wait_exponential_jitter(multiplier=0.5, max=8.0)


def _wait_retry_after(state: RetryCallState) -> float:
    """The provider's `Retry-After` when it sent one, else exponential backoff with jitter."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, LlmUnavailable) and exc.retry_after is not None:
        return exc.retry_after
    return _backoff(state)
