"""Handing events over for delivery without ever slowing down or failing the request that produced them.

`EventPublisher` is the one interface: `publish` returns quickly and keeps what it could not deliver. The
embedded default, `SpoolPublisher`, appends JSON lines to a spool under KB_HOME, which the ingest job empties
into DuckDB; in the cloud `common.events.pubsub_publisher` sends them to Pub/Sub.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from common.events.model import Event
from common.logs import get_logger

log = get_logger(__name__)


def pseudonymous_user(user_id: str, salt: str) -> str:
    """Analytics can count people without naming them: a salted hash, stable for one deployment."""
    if not salt:
        return user_id
    return hashlib.sha256(f"{salt}\x1f{user_id}".encode()).hexdigest()[:20]


class EventPublisher(Protocol):
    def publish(self, events: Sequence[Event]) -> None:
        """Hand events over for delivery; returns quickly and never raises for a delivery problem."""
        ...


USER_FIELDS = ("user_id", "slack_user_id")
"""Event fields that name a Slack user."""


class PseudonymisingPublisher:
    """Replaces every event's Slack user ids with their salted hash before it leaves the process, so no
    producer can forget to (ANALYTICS_USER_SALT)."""

    def __init__(self, inner: EventPublisher, *, salt: str) -> None:
        self._inner = inner
        self._salt = salt

    def publish(self, events: Sequence[Event]) -> None:
        self._inner.publish([self._pseudonymised(event) for event in events])

    def _pseudonymised(self, event: Event) -> Event:
        changes: dict[str, Any] = {
            name: pseudonymous_user(value, self._salt)
            for name in USER_FIELDS
            if isinstance(value := getattr(event, name, None), str)
        }
        return replace(event, **changes) if changes else event


class SpoolPublisher:
    """Appends events as JSON lines to one file per UTC day under `directory`; safe across threads.

    Events it cannot write (disk full, folder unwritable) stay in a backlog that every later `publish`
    and `flush` tries first, so a failure delays events but does not drop them while the process lives.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._lock = threading.Lock()
        self._backlog: list[Event] = []

    @property
    def backlog(self) -> int:
        return len(self._backlog)

    def publish(self, events: Sequence[Event]) -> None:
        with self._lock:
            self._backlog.extend(events)
            self._write_backlog()

    def flush(self) -> None:
        with self._lock:
            self._write_backlog()

    def _write_backlog(self) -> None:
        if not self._backlog:
            return
        lines = "".join(json.dumps(event.to_record(), ensure_ascii=False) + "\n" for event in self._backlog)
        path = self._directory / f"events-{datetime.now(UTC):%Y-%m-%d}.jsonl"
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as spool:
                spool.write(lines)
        except OSError as exc:
            log.error("events_not_spooled_yet", path=str(path), events=len(self._backlog), error=str(exc))
            return
        self._backlog.clear()
