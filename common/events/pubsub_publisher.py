"""Events to Pub/Sub without ever slowing down or failing the request that produced them.

`publish` only puts events on an in-memory queue; a background thread sends them to the analytics topic.
Events it cannot send (Pub/Sub down, a timeout) are appended to this publisher's retry buffer file under
KB_HOME and sent again on every later round, so an outage delays analytics but loses nothing while the
instance lives (a Cloud Run instance's disk goes with it). The buffer's size is logged on every failure and
exposed as `pending`.
Consumers drop duplicates by `event_id`, so resending an event whose first send timed out but landed is safe.
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common.errors import KbError
from common.events.model import Event
from common.infra.background import Periodic
from common.infra.pubsub import PubSubPublisher
from common.logs import get_logger

log = get_logger(__name__)


class PubSubEventPublisher:
    def __init__(self, publisher: PubSubPublisher, *, buffer_dir: Path, flush_seconds: float = 1.0) -> None:
        self._publisher = publisher
        # One file per publisher: two publishers in a process must never send each other's buffer.
        self._buffer = buffer_dir / f"events-{uuid.uuid4().hex[:12]}.jsonl"
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self._send_lock = threading.Lock()
        self._sender = Periodic(name="event-publisher", seconds=flush_seconds, tick=self.flush)

    def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            self._queue.put(event.to_record())
        self._sender.start()

    @property
    def pending(self) -> int:
        """Events waiting in the local retry buffer."""
        if not self._buffer.exists():
            return 0
        return sum(1 for _ in self._buffer.open(encoding="utf-8"))

    def flush(self) -> None:
        """Send what is queued and buffered now (tests, shutdown, the end of a job)."""
        with self._send_lock:
            self._send_round()

    def close(self) -> None:
        self._sender.close()

    def _send_round(self) -> None:
        """The buffer file is rewritten, never emptied first, so a crash mid-round re-sends, never drops."""
        queued = self._drain_queue()
        if queued:
            self._append_buffer(queued)
        records = self._read_buffer()
        if not records:
            return
        messages = [
            (
                json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode(),
                {"kind": str(r.get("kind", ""))},
            )
            for r in records
        ]
        try:
            failed = self._publisher.publish_many(messages)
        except KbError as exc:
            failed, error = list(range(len(records))), str(exc)
        else:
            error = "Pub/Sub did not confirm them"
        if failed:
            self._rewrite_buffer([records[i] for i in failed])
            log.warning("events_buffered", buffered=len(failed), error=error)
            return
        self._buffer.unlink(missing_ok=True)

    def _drain_queue(self) -> list[dict[str, Any]]:
        records = []
        while True:
            try:
                records.append(self._queue.get_nowait())
            except queue.Empty:
                return records

    def _read_buffer(self) -> list[dict[str, Any]]:
        if not self._buffer.exists():
            return []
        lines = self._buffer.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def _rewrite_buffer(self, records: list[dict[str, Any]]) -> None:
        temporary = self._buffer.with_suffix(".tmp")
        temporary.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
        )
        temporary.replace(self._buffer)

    def _append_buffer(self, records: list[dict[str, Any]]) -> None:
        self._buffer.parent.mkdir(parents=True, exist_ok=True)
        with self._buffer.open("a", encoding="utf-8") as buffer:
            buffer.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
