"""Events over the Pub/Sub emulator into the months' DuckDB part files in GCS (fake-gcs-server): counted once
each, whatever happens in between."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import duckdb
import pytest
from google.api_core import exceptions as google_errors
from google.cloud import pubsub_v1
from structlog.testing import capture_logs

from common.analytics.compaction import compact_fully
from common.analytics.ingest import Delivery, PubSubSource, ingest
from common.analytics.query import query
from common.config import Settings, get_settings, load_settings
from common.events.model import ChunkAccessed, Event, QueryRecord
from common.events.publishers import SpoolPublisher
from common.events.pubsub_publisher import PubSubEventPublisher, encode_batch
from common.infra.pubsub import PubSubPublisher, subscriber_client
from common.infra.record_files import FolderRecordFiles, RecordFiles
from common.runtime.events import build_event_source, build_period_files
from common.runtime.infra import build_blob_store
from common.runtime.publishing import build_event_buffer, build_publisher, close_publishers
from tests.support.pubsub_emulator import PubSubEmulator
from tests.support.runs import run_analytics_ingest

PROJECT = "kb-analytics-tests"


@pytest.fixture
def settings(pubsub_emulator: PubSubEmulator, gcs_bucket: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    topic, dead = f"kb-analytics-{suffix}", f"kb-analytics-dead-{suffix}"
    pubsub_emulator.create_topic(PROJECT, topic)
    pubsub_emulator.create_topic(PROJECT, dead)
    pubsub_emulator.create_pull_subscription(PROJECT, topic, f"{topic}-ingest")
    pubsub_emulator.create_pull_subscription(PROJECT, dead, f"{dead}-inspect")
    for name, value in {
        "GCP_PROJECT": PROJECT,
        "PUBSUB_ENDPOINT": pubsub_emulator.host,
        "ANALYTICS_TOPIC": topic,
        "ANALYTICS_SUBSCRIPTION": f"{topic}-ingest",
        "ANALYTICS_DEAD_LETTER_TOPIC": dead,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def publisher_for(settings: Settings) -> Iterator[Callable[..., PubSubEventPublisher]]:
    """Event publishers the test makes, closed after it, so no sender outlives its test."""
    made: list[PubSubEventPublisher] = []

    def make(topic: str, *, buffer: RecordFiles | None = None, timeout: float = 10.0) -> PubSubEventPublisher:
        publisher = PubSubEventPublisher(
            PubSubPublisher(PROJECT, topic, endpoint=settings.pubsub_endpoint, timeout=timeout),
            buffer=buffer or build_event_buffer(settings),
        )
        made.append(publisher)
        return publisher

    yield make
    for publisher in made:
        publisher.close()


def _events(count: int) -> list[Event]:
    return [
        ChunkAccessed(chunk_id=f"c{n}", page_id="p1", query_id=f"q{n // 5}", rank=n % 5 + 1, source="slack")
        for n in range(count)
    ]


def _publish(settings: Settings, events: Sequence[Event], tmp_path: Path) -> None:
    publisher = PubSubEventPublisher(
        PubSubPublisher(PROJECT, settings.analytics_topic, endpoint=settings.pubsub_endpoint),
        buffer=FolderRecordFiles(tmp_path / "buffer"),
    )
    publisher.publish(events)
    publisher.close()
    assert publisher.pending == 0


def _count(settings: Settings, tmp_path: Path, table: str = "chunk_access_log") -> tuple[int, int]:
    """(rows stored, distinct event ids) of a table over every file in the bucket."""
    files = build_period_files(settings).local_copies(tmp_path / f"read-{uuid.uuid4().hex[:6]}")
    rows = distinct = 0
    for path in files:
        with duckdb.connect(str(path), read_only=True) as conn:
            found = conn.execute(f"SELECT count(*), count(DISTINCT event_id) FROM {table}").fetchone()
            assert found is not None
            rows, distinct = rows + int(found[0]), distinct + int(found[1])
    return rows, distinct


def test_published_events_land_once_in_the_months_file(settings: Settings, tmp_path: Path) -> None:
    _publish(settings, _events(300), tmp_path)

    summary = run_analytics_ingest(settings)

    assert summary.inserted == 300
    assert _count(settings, tmp_path) == (300, 300)


def test_duplicated_messages_land_once(settings: Settings, tmp_path: Path) -> None:
    events = _events(50)
    _publish(settings, events, tmp_path)
    _publish(settings, events, tmp_path)

    summary = run_analytics_ingest(settings)

    assert (summary.inserted, summary.duplicates) == (50, 50)
    assert _count(settings, tmp_path) == (50, 50)


class _CrashBeforeAck:
    """The real subscription, but the process 'dies' after saving the file and before acknowledging: the
    messages become deliverable again at once, as they would when their ack deadline passed."""

    def __init__(self, source: PubSubSource, emulator: PubSubEmulator, subscription: str) -> None:
        self._source = source
        self._emulator = emulator
        self._subscription = subscription

    def receive(self, max_events: int) -> list[Delivery]:
        return self._source.receive(max_events)

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        self._emulator.subscriber.modify_ack_deadline(
            request={
                "subscription": self._subscription,
                "ack_ids": list(dict.fromkeys(d.token for d in deliveries)),
                "ack_deadline_seconds": 0,
            }
        )
        raise SystemExit("crashed between upload and ack")

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        self._source.dead_letter(delivery, reason)


def _counted(settings: Settings, tmp_path: Path) -> int:
    """Accesses as every reader counts them (queries, the report)."""
    files = build_period_files(settings).local_copies(tmp_path / f"read-{uuid.uuid4().hex[:6]}")
    return int(query(files, "SELECT count(*) FROM chunk_access_log").rows[0][0])


def test_a_crash_between_storing_and_ack_loses_nothing_and_counts_nothing_twice(
    settings: Settings, pubsub_emulator: PubSubEmulator, tmp_path: Path
) -> None:
    _publish(settings, _events(120), tmp_path)
    source = build_event_source(settings)
    subscription = f"projects/{PROJECT}/subscriptions/{settings.analytics_subscription}"

    with pytest.raises(SystemExit):
        ingest(_CrashBeforeAck(source, pubsub_emulator, subscription), build_period_files(settings))
    after_restart = run_analytics_ingest(settings)

    assert after_restart.inserted == 120  # redelivered into a second part
    assert _count(settings, tmp_path) == (240, 240)
    assert _counted(settings, tmp_path) == 120


def test_compaction_removes_the_copies_a_redelivery_stored(
    settings: Settings, pubsub_emulator: PubSubEmulator, tmp_path: Path
) -> None:
    _publish(settings, _events(120), tmp_path)
    source = build_event_source(settings)
    subscription = f"projects/{PROJECT}/subscriptions/{settings.analytics_subscription}"
    with pytest.raises(SystemExit):
        ingest(_CrashBeforeAck(source, pubsub_emulator, subscription), build_period_files(settings))
    run_analytics_ingest(settings)
    files = build_period_files(settings)

    summary = compact_fully(files, files.periods())

    assert (summary.merged, summary.written, summary.repeats_dropped) == (2, 1, 120)
    assert _count(settings, tmp_path) == (120, 120)
    assert _counted(settings, tmp_path) == 120


def test_two_ingest_runs_at_once_lose_nothing(settings: Settings, tmp_path: Path) -> None:
    _publish(settings, _events(2000), tmp_path)
    summaries = []

    def run() -> None:
        summaries.append(ingest(build_event_source(settings), build_period_files(settings), batch_size=100))

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(timeout=300)

    assert sum(s.inserted for s in summaries) == 2000
    assert _count(settings, tmp_path) == (2000, 2000)


def test_a_malformed_message_goes_to_the_dead_letter_topic_with_its_reason(
    settings: Settings, pubsub_emulator: PubSubEmulator, tmp_path: Path
) -> None:
    raw = PubSubPublisher(PROJECT, settings.analytics_topic, endpoint=settings.pubsub_endpoint)
    raw.publish(b"this is not an event")
    _publish(settings, _events(3), tmp_path)

    summary = run_analytics_ingest(settings)

    [dead] = pubsub_emulator.pull(PROJECT, f"{settings.analytics_dead_letter_topic}-inspect")
    assert summary.dead_lettered == 1 and summary.inserted == 3
    assert dead.message.data == b"this is not an event"
    assert "not an event" in dead.message.attributes["reason"]
    assert run_analytics_ingest(settings).received == 0  # acknowledged, not redelivered


def _subscription_source(
    settings: Settings, subscriber: pubsub_v1.SubscriberClient | None = None
) -> PubSubSource:
    return PubSubSource(
        subscription=f"projects/{PROJECT}/subscriptions/{settings.analytics_subscription}",
        subscriber=subscriber or subscriber_client(settings.pubsub_endpoint),
        dead_letters=PubSubPublisher(
            PROJECT, settings.analytics_dead_letter_topic, endpoint=settings.pubsub_endpoint
        ),
    )


def test_a_bad_line_in_a_message_of_events_is_dead_lettered_alone(
    settings: Settings, pubsub_emulator: PubSubEmulator
) -> None:
    good = [event.to_record() for event in _events(2)]
    raw = PubSubPublisher(PROJECT, settings.analytics_topic, endpoint=settings.pubsub_endpoint)
    raw.publish(encode_batch(good[:1]) + b"not an event\n" + encode_batch(good[1:]))

    summary = run_analytics_ingest(settings)

    [dead] = pubsub_emulator.pull(PROJECT, f"{settings.analytics_dead_letter_topic}-inspect")
    assert (summary.inserted, summary.dead_lettered) == (2, 1)
    assert dead.message.data == b"not an event"
    assert run_analytics_ingest(settings).received == 0


def test_a_message_without_events_is_dead_lettered_not_dropped(
    settings: Settings, pubsub_emulator: PubSubEmulator
) -> None:
    raw = PubSubPublisher(PROJECT, settings.analytics_topic, endpoint=settings.pubsub_endpoint)
    raw.publish(b"", attributes={"events": "0"})

    summary = run_analytics_ingest(settings)

    [dead] = pubsub_emulator.pull(PROJECT, f"{settings.analytics_dead_letter_topic}-inspect")
    assert summary.dead_lettered == 1
    assert "not JSON" in dead.message.attributes["reason"]


def test_messages_larger_together_than_grpcs_default_limit_are_pulled(
    settings: Settings, tmp_path: Path
) -> None:
    """gRPC refuses a response over 4 MB unless told otherwise; one pull here brings ~10 MB."""
    events = [
        QueryRecord(
            question_id=f"q{n}",
            user_id="U1",
            channel_type="im",
            query="x" * 2000,
            results=1,
            top_score=0.5,
            latency_ms=10.0,
            source="slack",
        )
        for n in range(5000)
    ]
    _publish(settings, events, tmp_path)

    summary = run_analytics_ingest(settings)

    assert summary.inserted == 5000


def _pull_acking(
    source: PubSubSource, events: int, max_events: int, *, timeout: float = 10.0
) -> list[list[Delivery]]:
    """Pulls of at most `max_events` each, acknowledged, until `events` have come or `timeout` has passed
    (the emulator may answer a pull with nothing while messages wait)."""
    pulls: list[list[Delivery]] = []
    deadline = time.monotonic() + timeout
    while sum(map(len, pulls)) < events and time.monotonic() < deadline:
        if received := source.receive(max_events):
            pulls.append(received)
            source.ack(received)
    return pulls


def test_a_pull_takes_whole_messages_up_to_the_events_asked_for_and_hands_back_the_rest(
    settings: Settings,
) -> None:
    source = _subscription_source(settings)
    raw = PubSubPublisher(PROJECT, settings.analytics_topic, endpoint=settings.pubsub_endpoint)
    for record in [event.to_record() for event in _events(10)]:
        raw.publish(encode_batch([record]))
    _pull_acking(source, 10, 5)  # the source now expects one event a message, and asks for 150 messages
    records = [event.to_record() for event in _events(400)]
    for start in range(0, 400, 100):
        raw.publish(encode_batch(records[start : start + 100]))

    pulls = _pull_acking(source, 400, 150)

    assert all(len(pull) <= 150 + 99 for pull in pulls)
    assert sorted(json.loads(d.data)["event_id"] for pull in pulls for d in pull) == sorted(
        r["event_id"] for r in records
    )


class _HandBackRefused(pubsub_v1.SubscriberClient):
    """The real client, with handing messages back failing as it would with Pub/Sub unreachable."""

    def modify_ack_deadline(self, *args: object, **kwargs: object) -> None:
        raise google_errors.ServiceUnavailable("hand-back refused by the test")


def test_messages_that_cannot_be_handed_back_are_delivered_again_after_their_ack_deadline(
    settings: Settings,
) -> None:
    endpoint = settings.pubsub_endpoint
    assert endpoint is not None
    transport = subscriber_client(endpoint).transport
    source = _subscription_source(settings, _HandBackRefused(transport=transport))
    raw = PubSubPublisher(PROJECT, settings.analytics_topic, endpoint=endpoint)
    for record in [event.to_record() for event in _events(3)]:
        raw.publish(encode_batch([record]))
    _pull_acking(source, 3, 1)  # one event a message: the next pull asks for as many messages as events
    records = [event.to_record() for event in _events(300)]
    for start in range(0, 300, 100):
        raw.publish(encode_batch(records[start : start + 100]))

    with capture_logs() as logs:
        pulls = _pull_acking(source, 300, 100, timeout=30.0)  # past the subscription's 10 s ack deadline

    assert any(entry["event"] == "analytics_hand_back_failed" for entry in logs)
    assert sorted(json.loads(d.data)["event_id"] for pull in pulls for d in pull) == sorted(
        r["event_id"] for r in records
    )


def test_events_that_cannot_be_published_wait_in_the_buffer_and_go_out_later(
    settings: Settings,
    pubsub_emulator: PubSubEmulator,
    tmp_path: Path,
    publisher_for: Callable[..., PubSubEventPublisher],
) -> None:
    topic = f"kb-analytics-late-{uuid.uuid4().hex[:8]}"
    publisher = publisher_for(topic, buffer=FolderRecordFiles(tmp_path / "buffer"), timeout=1.0)
    publisher.publish(_events(5))
    publisher.flush()
    assert publisher.pending == 5  # the topic does not exist yet

    pubsub_emulator.create_topic(PROJECT, topic)
    pubsub_emulator.create_pull_subscription(PROJECT, topic, f"{topic}-read")
    publisher.flush()

    assert publisher.pending == 0
    assert len(pubsub_emulator.pull_events(PROJECT, f"{topic}-read", wait_for=5)) == 5


def test_events_still_queued_when_the_process_ends_are_sent_before_it_exits(
    settings: Settings, pubsub_emulator: PubSubEmulator
) -> None:
    build_publisher(settings).publish(_events(7))

    close_publishers()  # what the interpreter runs at exit

    assert run_analytics_ingest(settings).inserted == 7


def test_the_embedded_default_ingests_the_spool_into_files_under_kb_home(kb_home: Path) -> None:
    SpoolPublisher(kb_home / "spool").publish(_events(10))

    summary = run_analytics_ingest(load_settings())

    assert summary.inserted == 10
    assert list((kb_home / "analytics").glob("*.duckdb"))


def test_events_pubsub_did_not_confirm_wait_in_the_bucket_not_on_the_instance(
    settings: Settings, tmp_path: Path, publisher_for: Callable[..., PubSubEventPublisher]
) -> None:
    missing = f"kb-analytics-missing-{uuid.uuid4().hex[:8]}"
    publisher = publisher_for(missing, timeout=1.0)
    publisher.publish(_events(4))
    publisher.flush()

    assert not (settings.kb_home / "event-buffer").exists()
    buffered = build_blob_store(settings).names("event-buffer/")
    assert buffered and all(name.startswith(f"event-buffer/{settings.analytics_topic}/") for name in buffered)
    assert publisher.pending == 4
    assert build_blob_store(settings).names("event-buffer/")


def test_events_buffered_by_a_lost_instance_are_sent_by_another(
    settings: Settings,
    pubsub_emulator: PubSubEmulator,
    publisher_for: Callable[..., PubSubEventPublisher],
) -> None:
    topic = f"kb-analytics-later-{uuid.uuid4().hex[:8]}"
    lost = publisher_for(topic, timeout=1.0)
    lost.publish(_events(6))
    lost.flush()
    pubsub_emulator.create_topic(PROJECT, topic)
    pubsub_emulator.create_pull_subscription(PROJECT, topic, f"{topic}-read")
    another = publisher_for(topic)

    another.flush()

    assert another.pending == 0
    received = pubsub_emulator.pull_events(PROJECT, f"{topic}-read", wait_for=6)
    assert sorted(event["chunk_id"] for event in received) == [f"c{n}" for n in range(6)]


def test_the_ingest_job_stores_buffered_events_itself_each_once(
    settings: Settings, tmp_path: Path, publisher_for: Callable[..., PubSubEventPublisher]
) -> None:
    missing = f"kb-analytics-missing-{uuid.uuid4().hex[:8]}"
    publisher = publisher_for(missing, timeout=1.0)
    events = _events(9)
    publisher.publish(events)
    publisher.flush()
    publisher.publish(events[:3])  # sent again, as a redelivering instance would
    publisher.flush()

    summary = run_analytics_ingest(settings)

    assert summary.inserted == 9
    assert _count(settings, tmp_path) == (9, 9)
    assert publisher.pending == 0
