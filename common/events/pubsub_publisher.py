"""Events to Pub/Sub without ever slowing down or failing the request that produced them, and without losing
them when the instance goes away.

`publish` only puts events on an in-memory queue; a background thread sends them to the analytics topic
every second, up to `MAX_EVENTS_PER_MESSAGE` events to a message as JSON lines: Pub/Sub's costs, and what
one pull returns, are per message (the emulator's 100 messages a pull held ingest to ~5,000 events/s), and a
message of one event is one line. What Pub/Sub does not confirm is written, as one batch, to the event
buffer: records under `event-buffer/` in `GCS_BUCKET` in the cloud (an instance's disk dies with it), a
folder under KB_HOME on one machine. Every round of every instance sends the buffered batches again, and the
analytics ingest job reads them straight into DuckDB too; consumers drop duplicates by `event_id`, so an
event sent twice is stored once.

While Pub/Sub is failing, new events go to the buffer before they are tried, so only the events of the
current second are ever held in memory alone, and `close` (at exit, on Cloud Run's SIGTERM) sends or buffers
those. A batch is rewritten with what is still unsent, never removed before Pub/Sub confirmed all of it.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from common.errors import KbError
from common.events.model import Event
from common.infra.background import Periodic
from common.infra.pubsub import PubSubPublisher
from common.infra.record_files import RecordFiles
from common.logs import get_logger

log = get_logger(__name__)

BATCH_SUFFIX = ".jsonl"
MAX_EVENTS_PER_MESSAGE = 1000
MAX_MESSAGE_BYTES = 1_000_000
"""A tenth of Pub/Sub's limit per message; an event alone larger than this still goes, in its own message."""


def encode_batch(records: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(_line(record) for record in records)


def decode_batch(data: bytes) -> list[bytes]:
    """The batch's events, each as the bytes of one JSON record (what the ingest job reads from a buffered
    batch or a Pub/Sub message)."""
    return [line for line in data.splitlines() if line.strip()]


@dataclass(frozen=True, slots=True)
class EventMessage:
    data: bytes
    records: list[dict[str, Any]]

    @property
    def attributes(self) -> dict[str, str]:
        return {"events": str(len(self.records))}


def event_messages(records: Sequence[dict[str, Any]]) -> list[EventMessage]:
    """The Pub/Sub messages that carry `records`, in order, each within the limits above."""
    messages: list[EventMessage] = []
    lines: list[bytes] = []
    held: list[dict[str, Any]] = []
    size = 0
    for record in records:
        line = _line(record)
        if held and (len(held) == MAX_EVENTS_PER_MESSAGE or size + len(line) > MAX_MESSAGE_BYTES):
            messages.append(EventMessage(b"".join(lines), held))
            lines, held, size = [], [], 0
        lines.append(line)
        held.append(record)
        size += len(line)
    if held:
        messages.append(EventMessage(b"".join(lines), held))
    return messages


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


class PubSubEventPublisher:
    def __init__(
        self, publisher: PubSubPublisher, *, buffer: RecordFiles, flush_seconds: float = 1.0
    ) -> None:
        self._publisher = publisher
        self._buffer = buffer
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self._send_lock = threading.Lock()
        self._healthy = True
        self._sender = Periodic(name="event-publisher", seconds=flush_seconds, tick=self.flush)

    def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            self._queue.put(event.to_record())
        self._sender.start()

    @property
    def pending(self) -> int:
        """Events waiting in the buffer (every instance's, in the cloud)."""
        return sum(len(decode_batch(self._buffer.read(name) or b"")) for name in self._batches())

    def flush(self) -> None:
        """Send what is queued and buffered now (tests, shutdown, the end of a job)."""
        with self._send_lock:
            self._send_round()

    def close(self) -> None:
        self._sender.close()

    def _send_round(self) -> None:
        queued = self._drain_queue()
        try:
            tried = bool(queued) and self._healthy
            if tried:
                queued = self._send_new(queued)
            if queued:
                self._buffer.write(_batch_name(), encode_batch(queued))
                queued = []
            if self._healthy:
                for name in self._batches():
                    if not self._resend(name):
                        return
            elif not tried and (waiting := self._batches()):
                self._resend(waiting[0])  # one probe a round while Pub/Sub is failing
        except KbError as exc:
            # The buffer itself is unreachable (Cloud Storage down): what this round held stays in memory.
            for record in queued:
                self._queue.put(record)
            log.error("event_buffer_unavailable", held=self._queue.qsize(), error=str(exc))

    def _send_new(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send the round's new events; returns those Pub/Sub did not confirm."""
        failed, error = self._send(records)
        if failed:
            log.warning("events_buffered", buffered=len(failed), error=error)
        return failed

    def _resend(self, name: str) -> bool:
        """Send one buffered batch; False when Pub/Sub is still failing (the rest wait for the next round)."""
        data = self._buffer.read(name)
        if data is None:
            return True  # another instance sent it, or the ingest job stored it
        records = [json.loads(line) for line in decode_batch(data)]
        failed, _ = self._send(records)
        if failed:
            if len(failed) < len(records):
                self._buffer.write(name, encode_batch(failed))
            return False
        self._buffer.remove(name)
        log.info("buffered_events_sent", batch=name, events=len(records))
        return True

    def _send(self, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
        """The records Pub/Sub did not confirm, and why."""
        messages = event_messages(records)
        try:
            failed = self._publisher.publish_many([(m.data, m.attributes) for m in messages])
        except KbError as exc:
            failed, error = list(range(len(messages))), str(exc)
        else:
            error = "Pub/Sub did not confirm them"
        self._healthy = not failed
        return [record for i in failed for record in messages[i].records], error

    def _batches(self) -> list[str]:
        return [name for name in self._buffer.names() if name.endswith(BATCH_SUFFIX)]

    def _drain_queue(self) -> list[dict[str, Any]]:
        records = []
        while True:
            try:
                records.append(self._queue.get_nowait())
            except queue.Empty:
                return records


def _batch_name() -> str:
    """Oldest first when listed, unique across instances."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}{BATCH_SUFFIX}"
