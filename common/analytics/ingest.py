"""Moving events from where they wait (a Pub/Sub subscription, or the local spool) into the monthly DuckDB
files, losing nothing and duplicating nothing.

A batch is acknowledged only after every file it touched was saved; a crash in between means redelivery, and
the store drops events whose `event_id` it already holds. A month's file is saved over exactly the version it
was read from (`common.analytics.period_files`); when another run saved first, the batch is applied again to
the new version. Messages that are not events, and events the store refuses, go to the dead-letter destination
with the reason, and are acknowledged: retrying cannot fix them.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from google.api_core import exceptions as google_errors
from google.cloud import pubsub_v1

from common.analytics.period_files import PeriodFiles
from common.analytics.store import append_records, open_store, period_of
from common.errors import BlobConflict, InvalidEvent, KbError, QueueUnavailable
from common.events.pubsub_publisher import BATCH_SUFFIX, decode_batch
from common.infra.pubsub import PubSubPublisher
from common.infra.record_files import RecordFiles
from common.logs import get_logger

log = get_logger(__name__)

MAX_CONFLICT_RETRIES = 12
"""Every lost race means another writer won, so this many writers at one moment all get through."""
RETRY_JITTER_SECONDS = 0.05
PULL_SIZE = 1000
"""Pub/Sub's limit per pull request."""


@dataclass(frozen=True, slots=True)
class Delivery:
    token: str
    """What acknowledges it: a Pub/Sub ack id, or a spool file name."""
    data: bytes


class EventSource(Protocol):
    def receive(self, max_messages: int) -> list[Delivery]: ...

    def ack(self, deliveries: Sequence[Delivery]) -> None: ...

    def dead_letter(self, delivery: Delivery, reason: str) -> None: ...


@dataclass(slots=True)
class IngestSummary:
    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    conflicts: int = 0
    periods: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, object]:
        return {
            "received": self.received,
            "inserted": self.inserted,
            "duplicates": self.duplicates,
            "dead_lettered": self.dead_lettered,
            "conflicts": self.conflicts,
            "periods": sorted(self.periods),
        }


def ingest(
    source: EventSource,
    files: PeriodFiles,
    *,
    batch_size: int = 20_000,
    max_batches: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> IngestSummary:
    summary = IngestSummary()
    batches = 0
    while max_batches is None or batches < max_batches:
        deliveries = _gather(source, batch_size)
        if not deliveries:
            break
        batches += 1
        summary.received += len(deliveries)
        _ingest_batch(source, files, deliveries, summary)
        source.ack(deliveries)
        if progress is not None:
            progress(len(deliveries))
    log.info("analytics_ingested", **summary.as_dict())
    return summary


def _gather(source: EventSource, batch_size: int) -> list[Delivery]:
    """Pull until the batch is full or nothing is waiting: each batch rewrites a month's whole file, so
    fewer, larger batches are what makes ingest fast (the subscription's ack deadline must cover one)."""
    deliveries: list[Delivery] = []
    while len(deliveries) < batch_size:
        received = source.receive(min(PULL_SIZE, batch_size - len(deliveries)))
        if not received:
            break
        deliveries += received
    return deliveries


def _ingest_batch(
    source: EventSource, files: PeriodFiles, deliveries: list[Delivery], summary: IngestSummary
) -> None:
    by_period: dict[str, list[tuple[Delivery, dict[str, Any]]]] = defaultdict(list)
    for delivery in deliveries:
        try:
            record = _decode(delivery.data)
            by_period[period_of(record)].append((delivery, record))
        except InvalidEvent as exc:
            _dead_letter(source, delivery, f"not an event: {exc}", summary)
    for period, items in sorted(by_period.items()):
        _append_period(source, files, period, items, summary)


def _append_period(
    source: EventSource,
    files: PeriodFiles,
    period: str,
    items: list[tuple[Delivery, dict[str, Any]]],
    summary: IngestSummary,
) -> None:
    records = [record for _, record in items]
    for attempt in range(1, MAX_CONFLICT_RETRIES + 1):
        try:
            with files.edit(period) as path:
                store = open_store(path)
                try:
                    result = append_records(store, records)
                finally:
                    store.close()
        except BlobConflict:
            summary.conflicts += 1
            log.info("analytics_file_changed_meanwhile", period=period, attempt=attempt)
            time.sleep(random.uniform(0, RETRY_JITTER_SECONDS * attempt))  # two runs must not collide in step
            continue
        summary.inserted += result.inserted
        summary.duplicates += result.duplicates
        summary.periods.add(period)
        delivery_of = {str(record.get("event_id")): delivery for delivery, record in items}
        for rejected in result.rejected:
            delivery = delivery_of.get(str(rejected.record.get("event_id")))
            if delivery is not None:
                _dead_letter(source, delivery, rejected.reason, summary)
        return
    raise KbError(
        f"The analytics file for {period} kept changing during {MAX_CONFLICT_RETRIES} attempts; "
        "the batch was not acknowledged and will be delivered again."
    )


def _decode(data: bytes) -> dict[str, Any]:
    try:
        record = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEvent(f"the message is not JSON ({exc})") from exc
    if not isinstance(record, dict):
        raise InvalidEvent("the message is JSON but not an object")
    if not record.get("event_id") or not record.get("kind"):
        raise InvalidEvent("the message has no event_id or kind")
    return record


def _dead_letter(source: EventSource, delivery: Delivery, reason: str, summary: IngestSummary) -> None:
    summary.dead_lettered += 1
    log.warning("analytics_dead_lettered", token=delivery.token[:40], reason=reason)
    source.dead_letter(delivery, reason)


class SpoolSource:
    """The embedded default: the JSON-lines spool that `SpoolPublisher` writes under KB_HOME.

    A whole file is one delivery per line and is removed when its batch is acknowledged; the file being
    written today is read again later, which the store's deduplication makes harmless."""

    def __init__(self, spool: Path) -> None:
        self._spool = spool
        self._files: dict[str, Path] = {}

    def receive(self, max_messages: int) -> list[Delivery]:
        deliveries: list[Delivery] = []
        for path in sorted(self._spool.glob("events-*.jsonl")) if self._spool.is_dir() else []:
            if path.name in self._files:
                continue
            lines = [line for line in path.read_bytes().splitlines() if line.strip()]
            self._files[path.name] = path
            deliveries += [Delivery(f"{path.name}:{n}", line) for n, line in enumerate(lines)]
            if len(deliveries) >= max_messages:
                break
        return deliveries

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        for name in {delivery.token.split(":", 1)[0] for delivery in deliveries}:
            path = self._files.get(name)
            if path is not None and not path.name.endswith(f"{datetime.now(UTC):%Y-%m-%d}.jsonl"):
                path.unlink(missing_ok=True)

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        with (self._spool / "dead-letter.jsonl").open("a", encoding="utf-8") as dead:
            dead.write(
                json.dumps({"reason": reason, "data": delivery.data.decode("utf-8", "replace")}) + "\n"
            )


class BufferedEventsSource:
    """The batches publishers wrote to the event buffer while Pub/Sub was failing
    (`common.events.pubsub_publisher`): read straight into the files, so they land even if no publisher
    instance is left to send them. A batch is removed once every event of it is stored."""

    def __init__(self, buffer: RecordFiles, *, dead_letter: Callable[[Delivery, str], None]) -> None:
        self._buffer = buffer
        self._dead_letter = dead_letter
        self._taken: set[str] = set()

    def receive(self, max_messages: int) -> list[Delivery]:
        deliveries: list[Delivery] = []
        for name in self._buffer.names():
            if name in self._taken or not name.endswith(BATCH_SUFFIX):
                continue
            self._taken.add(name)
            data = self._buffer.read(name)
            if data is not None:
                deliveries += [Delivery(f"{name}:{n}", line) for n, line in enumerate(decode_batch(data))]
            if len(deliveries) >= max_messages:
                break
        return deliveries

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        for name in sorted({delivery.token.rsplit(":", 1)[0] for delivery in deliveries}):
            self._buffer.remove(name)

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        self._dead_letter(delivery, reason)


class Sources:
    """Several sources read as one: each is emptied in turn, and acknowledgements go back where they came
    from."""

    def __init__(self, sources: Sequence[EventSource]) -> None:
        self._sources = list(sources)
        self._origin: dict[str, EventSource] = {}

    def receive(self, max_messages: int) -> list[Delivery]:
        for source in self._sources:
            received = source.receive(max_messages)
            if received:
                self._origin.update((delivery.token, source) for delivery in received)
                return received
        return []

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        for source in self._sources:
            mine = [delivery for delivery in deliveries if self._origin.get(delivery.token) is source]
            if mine:
                source.ack(mine)
        for delivery in deliveries:
            self._origin.pop(delivery.token, None)

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        self._origin[delivery.token].dead_letter(delivery, reason)


class PubSubSource:
    """The analytics subscription; dead letters go to their own topic with the reason as an attribute."""

    def __init__(
        self,
        *,
        subscription: str,
        subscriber: pubsub_v1.SubscriberClient,
        dead_letters: PubSubPublisher,
        timeout: float = 30.0,
    ) -> None:
        self._subscription = subscription
        self._subscriber = subscriber
        self._dead_letters = dead_letters
        self._timeout = timeout

    def receive(self, max_messages: int) -> list[Delivery]:
        try:
            response = self._subscriber.pull(
                request={
                    "subscription": self._subscription,
                    "max_messages": max_messages,
                    "return_immediately": True,
                },
                timeout=self._timeout,
            )
        except google_errors.DeadlineExceeded:
            return []
        except google_errors.GoogleAPICallError as exc:
            raise QueueUnavailable(f"Pulling from {self._subscription} failed: {exc}") from exc
        return [
            Delivery(received.ack_id, bytes(received.message.data)) for received in response.received_messages
        ]

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        ack_ids = [delivery.token for delivery in deliveries]
        for start in range(0, len(ack_ids), 1000):
            try:
                self._subscriber.acknowledge(
                    request={"subscription": self._subscription, "ack_ids": ack_ids[start : start + 1000]},
                    timeout=self._timeout,
                )
            except google_errors.GoogleAPICallError as exc:
                raise QueueUnavailable(
                    f"Acknowledging {len(ack_ids)} messages on {self._subscription} failed ({exc}); "
                    "they will be delivered again and dropped as duplicates."
                ) from exc

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        self._dead_letters.publish(delivery.data, attributes={"reason": reason[:1000]})
