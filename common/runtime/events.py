"""Analytics events: where they are published, where they wait, and where they are stored.

The process's background Pub/Sub publishers have one owner here (`_publishers`): `build_publisher` gives
every part of a process the same sender for the same settings, and `close_publishers` (at exit, and between
tests) sends what they still hold and stops their threads.
"""

from __future__ import annotations

import atexit
import threading

from common.analytics.ingest import BufferedEventsSource, EventSource, PubSubSource, Sources, SpoolSource
from common.analytics.period_files import PREFIX as ANALYTICS_PREFIX
from common.analytics.period_files import PeriodFiles
from common.config import Settings
from common.events.publishers import EventPublisher, PseudonymisingPublisher, SpoolPublisher
from common.events.pubsub_publisher import PubSubEventPublisher
from common.infra.pubsub import PubSubPublisher, subscriber_client
from common.infra.record_files import RecordFiles
from common.infra.versioned_files import BucketFiles, FolderFiles
from common.runtime.infra import build_blob_store, build_record_files


class _Publishers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_settings: dict[Settings, EventPublisher] = {}
        self._background: list[PubSubEventPublisher] = []

    def for_settings(self, settings: Settings) -> EventPublisher:
        with self._lock:
            found = self._by_settings.get(settings)
            if found is None:
                found = self._by_settings[settings] = self._build(settings)
            return found

    def close(self) -> None:
        with self._lock:
            background, self._background = self._background, []
            self._by_settings.clear()
        for publisher in background:
            publisher.close()

    def _build(self, settings: Settings) -> EventPublisher:
        publisher: EventPublisher
        if settings.gcp_project:
            topic = PubSubPublisher(
                settings.gcp_project, settings.analytics_topic, endpoint=settings.pubsub_endpoint
            )
            sender = PubSubEventPublisher(topic, buffer=build_event_buffer(settings))
            self._background.append(sender)
            publisher = sender
        else:
            publisher = SpoolPublisher(settings.kb_home / "spool")
        if settings.analytics_user_salt:
            return PseudonymisingPublisher(publisher, salt=settings.analytics_user_salt.get_secret_value())
        return publisher


_publishers = _Publishers()


def build_publisher(settings: Settings) -> EventPublisher:
    """Pub/Sub (`ANALYTICS_TOPIC`) in the cloud, with a local retry buffer; the spool under KB_HOME on one
    machine. User ids are pseudonymised here when ANALYTICS_USER_SALT is set."""
    return _publishers.for_settings(settings)


@atexit.register
def close_publishers() -> None:
    """Send what the background publishers still hold and stop their threads, so a process that ends (or a
    test that changes settings) neither loses queued events nor leaves a sender running for old settings."""
    _publishers.close()


def build_period_files(settings: Settings) -> PeriodFiles:
    if settings.gcs_bucket:
        return PeriodFiles(BucketFiles(build_blob_store(settings), prefix=ANALYTICS_PREFIX))
    return PeriodFiles(FolderFiles(settings.kb_home / "analytics"))


def build_event_buffer(settings: Settings) -> RecordFiles:
    """Where events Pub/Sub has not confirmed wait: the bucket when there is one, so they outlive the
    instance; else KB_HOME. One buffer per topic: a batch is only ever sent on to the topic it was for."""
    return build_record_files(settings, f"event-buffer/{settings.analytics_topic}")


def build_event_source(settings: Settings) -> EventSource:
    """The analytics subscription and the event buffer in the cloud, the spool on one machine."""
    if not settings.gcp_project:
        return SpoolSource(settings.kb_home / "spool")
    subscription = PubSubSource(
        subscription=f"projects/{settings.gcp_project}/subscriptions/{settings.analytics_subscription}",
        subscriber=subscriber_client(settings.pubsub_endpoint),
        dead_letters=PubSubPublisher(
            settings.gcp_project, settings.analytics_dead_letter_topic, endpoint=settings.pubsub_endpoint
        ),
    )
    buffered = BufferedEventsSource(build_event_buffer(settings), dead_letter=subscription.dead_letter)
    return Sources([subscription, buffered])
