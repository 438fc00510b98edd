"""What every HTTP handler of the product answers, independent of the web framework serving it.

Handlers (Slack's endpoints, the search API) return an `HttpReply`; the adapters (`functions/main.py` under
functions-framework, `kb serve` under Flask) hand `for_flask()` to the framework. An empty body is sent as
an empty string, which is what Slack wants for a plain acknowledgement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def for_flask(self) -> tuple[str, int, dict[str, str]]:
        text = json.dumps(self.body) if self.body is not None else ""
        return text, self.status, {"Content-Type": "application/json", **self.headers}
