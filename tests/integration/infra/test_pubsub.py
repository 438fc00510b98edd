"""Publishing to, and receiving from, Google's real Pub/Sub emulator (one per module: Java starts in ~5 s)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from common.errors import QueueUnavailable, TopicNotFound
from common.infra.pubsub import PubSubPublisher, decode_push
from tests.support.local_http import LocalHttpServer
from tests.support.local_service import free_port
from tests.support.pubsub_emulator import PubSubEmulator

PROJECT = "kb-tests"
DELIVERY_TIMEOUT_SECONDS = 10.0


@pytest.fixture
def topic(pubsub_emulator: PubSubEmulator) -> str:
    name = f"topic-{uuid.uuid4().hex[:12]}"
    pubsub_emulator.create_topic(PROJECT, name)
    return name


class PushReceiver(LocalHttpServer):
    """A push endpoint that keeps every body and acks it (any 2xx acks a push)."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytes] = []
        self.arrived = threading.Event()

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.bodies.append(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        self.arrived.set()
        start_response("204 No Content", [])
        return [b""]


@pytest.fixture
def pushed_body(pubsub_emulator: PubSubEmulator, topic: str) -> Iterator[bytes]:
    """The body the emulator POSTs for one message published with data and attributes."""
    with PushReceiver() as receiver:
        pubsub_emulator.create_push_subscription(PROJECT, topic, f"push-{topic}", f"{receiver.url}/push")
        PubSubPublisher(PROJECT, topic, endpoint=pubsub_emulator.host).publish(
            b'{"question": "vpn?"}', attributes={"kind": "question"}
        )
        assert receiver.arrived.wait(DELIVERY_TIMEOUT_SECONDS), "the emulator pushed nothing"
        yield receiver.bodies[0]


def test_a_published_message_is_pulled_with_its_data_and_attributes(
    pubsub_emulator: PubSubEmulator, topic: str
) -> None:
    pubsub_emulator.create_pull_subscription(PROJECT, topic, f"pull-{topic}")
    publisher = PubSubPublisher(PROJECT, topic, endpoint=pubsub_emulator.host)

    message_id = publisher.publish(b"\x00binary\xff", attributes={"kind": "question", "team": "it"})

    [received] = pubsub_emulator.pull(PROJECT, f"pull-{topic}")
    assert received.message.message_id == message_id
    assert received.message.data == b"\x00binary\xff"
    assert dict(received.message.attributes) == {"kind": "question", "team": "it"}


def test_publish_json_sends_compact_utf8_json(pubsub_emulator: PubSubEmulator, topic: str) -> None:
    pubsub_emulator.create_pull_subscription(PROJECT, topic, f"pull-{topic}")

    PubSubPublisher(PROJECT, topic, endpoint=pubsub_emulator.host).publish_json({"text": "Café ☕", "n": 1})

    [received] = pubsub_emulator.pull(PROJECT, f"pull-{topic}")
    assert received.message.data == '{"text":"Café ☕","n":1}'.encode()


def test_messages_with_one_ordering_key_arrive_in_publish_order(
    pubsub_emulator: PubSubEmulator, topic: str
) -> None:
    pubsub_emulator.create_pull_subscription(PROJECT, topic, f"pull-{topic}", ordered=True)
    publisher = PubSubPublisher(PROJECT, topic, endpoint=pubsub_emulator.host)
    sent = [f"step {n}".encode() for n in range(20)]

    for data in sent:
        publisher.publish(data, ordering_key="thread-1")

    received = pubsub_emulator.pull(PROJECT, f"pull-{topic}", max_messages=20, wait_for=20)
    assert [r.message.data for r in received] == sent
    assert {r.message.ordering_key for r in received} == {"thread-1"}


def test_publishing_to_a_missing_topic_names_the_topic_and_how_to_fix_it(
    pubsub_emulator: PubSubEmulator,
) -> None:
    publisher = PubSubPublisher(PROJECT, "no-such-topic", endpoint=pubsub_emulator.host)

    with pytest.raises(TopicNotFound, match=r"projects/kb-tests/topics/no-such-topic does not exist: create"):
        publisher.publish(b"x")


def test_an_ordering_key_whose_publish_failed_publishes_again_once_the_topic_exists(
    pubsub_emulator: PubSubEmulator,
) -> None:
    name = f"late-{uuid.uuid4().hex[:12]}"
    publisher = PubSubPublisher(PROJECT, name, endpoint=pubsub_emulator.host)
    with pytest.raises(TopicNotFound):
        publisher.publish(b"first", ordering_key="thread-1")

    pubsub_emulator.create_topic(PROJECT, name)

    assert publisher.publish(b"second", ordering_key="thread-1")


@pytest.mark.parametrize("ordering_key", [None, "thread-1"], ids=["unordered", "ordered"])
def test_publishing_with_the_emulator_down_is_unavailable_within_the_timeout(
    ordering_key: str | None,
) -> None:
    # Ordered publishes are retried forever by the library; only the wait for the result bounds them.
    endpoint = f"127.0.0.1:{free_port()}"
    publisher = PubSubPublisher(PROJECT, "kb-questions", endpoint=endpoint, timeout=2.0)
    started = time.monotonic()

    with pytest.raises(
        QueueUnavailable, match=rf"projects/kb-tests/topics/kb-questions .*{endpoint} is reachable"
    ):
        publisher.publish(b"x", ordering_key=ordering_key)

    assert time.monotonic() - started < 3.0


def test_a_push_subscription_delivers_an_envelope_decode_push_reads(pushed_body: bytes) -> None:
    message = decode_push(pushed_body)

    assert message.data == b'{"question": "vpn?"}'
    assert message.attributes == {"kind": "question"}
    assert message.subscription.startswith(f"projects/{PROJECT}/subscriptions/push-")
    assert message.message_id and message.publish_time.endswith("Z")
    assert message.delivery_attempt is None


def test_the_emulators_push_envelope_has_the_documented_fields(pushed_body: bytes) -> None:
    envelope = json.loads(pushed_body)

    assert set(envelope) == {"message", "subscription"}
    assert {"data", "attributes", "messageId", "publishTime"} <= set(envelope["message"])
