"""The LLM the product writes with (answers, AI metadata, drafts, the evaluation judge), behind one method:
`complete_json`, a reply that must be a JSON object. Two providers implement it: any OpenAI-compatible
chat-completions API (OpenAI, Azure, vLLM, Ollama), here, and Gemini on Vertex AI (`common.ai.vertex`).

Both retry transport errors, 429 (honouring `Retry-After`) and 5xx with backoff (`JsonPoster`); everything
else is the caller's problem and surfaces as `LlmError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
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
        body = {
            "model": self._model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        }
        payload = self._http.post("/chat/completions", body)
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


class JsonPoster:
    """POST a JSON body, get a JSON object back: retried on transport errors, 429 and 5xx (waiting what
    `Retry-After` asks, else backing off with jitter), with every failure named for a person to act on."""

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
        retrying = Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, LlmUnavailable | httpx.TransportError)),
            stop=stop_after_attempt(self._max_attempts),
            wait=_wait_retry_after,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._post_once(path, body)
        except (LlmUnavailable, httpx.TransportError) as exc:
            raise LlmUnavailable(
                f"{self._describe} kept failing after {self._max_attempts} attempts: {exc}. "
                f"{self._settings_hint}"
            ) from exc
        raise AssertionError("unreachable: tenacity reraises the last error")

    def _post_once(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._http.post(path, json=body, headers=dict(self._headers()))
        if response.status_code in RETRYABLE_STATUS:
            raise LlmUnavailable(
                f"{self._describe} answered HTTP {response.status_code}.", retry_after=_retry_after(response)
            )
        if response.status_code in (401, 403):
            raise LlmError(
                f"{self._describe} refused the credentials (HTTP {response.status_code}); "
                f"{self._credentials_hint}."
            )
        if response.status_code >= 400:
            raise LlmError(f"{self._describe} answered HTTP {response.status_code}: {response.text[:300]}")
        try:
            data = response.json()
        except ValueError as exc:
            raise LlmError(f"{self._describe} answered a body that is not JSON.") from exc
        if not isinstance(data, dict):
            raise LlmError(f"{self._describe} answered JSON that is not an object.")
        return data


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
