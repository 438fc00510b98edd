"""Where analytics events are published: Pub/Sub in the cloud, the spool under KB_HOME on one machine.

The process's background Pub/Sub publishers have one owner here (`_publishers`): `build_publisher` gives
every part of a process the same sender for the same settings, and `close_publishers` (at exit, and between
tests) sends what they still hold and stops their threads. Kept apart from `common.runtime.events` (which
reads the analytics files with DuckDB) so the light Slack webhook can publish signals.
"""

from __future__ import annotations

import atexit
import threading

from common.config import Settings
from common.events.publishers import EventPublisher, PseudonymisingPublisher, SpoolPublisher
from common.events.pubsub_publisher import PubSubEventPublisher
from common.infra.pubsub import PubSubPublisher
from common.infra.record_files import RecordFiles
from common.runtime.infra import build_record_files


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


def build_event_buffer(settings: Settings) -> RecordFiles:
    """Where events Pub/Sub has not confirmed wait: the bucket when there is one, so they outlive the
    instance; else KB_HOME. One buffer per topic: a batch is only ever sent on to the topic it was for."""
    return build_record_files(settings, f"event-buffer/{settings.analytics_topic}")
