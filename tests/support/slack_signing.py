"""Sign request bodies the way Slack does, so tests can drive the product's inbound endpoints.

The product must reject unsigned or stale requests; tests need valid ones built exactly as Slack builds them
(`v0=HMAC_SHA256(secret, "v0:{timestamp}:{raw body}")`, interactivity payloads form-encoded under `payload`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote


def sign(body: bytes, *, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers for `body`; pass an old `timestamp` to exercise the product's replay window."""
    ts = int(time.time()) if timestamp is None else timestamp
    basestring = b"v0:" + str(ts).encode() + b":" + body
    digest = hmac.new(secret.encode(), basestring, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def form_body(payload: dict[str, Any]) -> bytes:
    """Slack posts interactivity (block_actions, view_submission) as one url-encoded JSON `payload` field."""
    return f"payload={quote(json.dumps(payload))}".encode()
