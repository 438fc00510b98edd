"""What every HTTP handler of the product answers, independent of the web framework serving it.

Handlers (Slack's endpoints, the search API) return an `HttpReply`; the adapters (`functions/main.py` under
functions-framework, `kb serve` under Flask) hand `for_flask()` to the framework. An empty body is sent as
an empty string, which is what Slack wants for a plain acknowledgement.
"""

from __future__ import annotations

import json
import uuid
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


TRACE_HEADER = "X-Cloud-Trace-Context"


def request_id_from(trace_header: str | None) -> str:
    """The id every log line of one request carries: the trace id Cloud Run sends in `TRACE_HEADER`
    (`TRACE_ID/SPAN_ID;o=1`), so the lines join the request's trace in Cloud Logging; else a new one."""
    trace_id = (trace_header or "").split("/", 1)[0].strip()
    return trace_id if trace_id.isalnum() and len(trace_id) <= 64 else uuid.uuid4().hex
