"""Google's Pub/Sub emulator (Java, shipped with the Cloud SDK), with helpers to set up topics and read them.

The emulator keeps everything in memory and has no data-directory flag; `data_dir` only places its log.
It speaks plaintext gRPC, so the clients here use the product's plaintext channel: TLS clients fail the
handshake.
Java start-up takes 2-5 s on these machines, which is why test modules share one emulator.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

from google.api_core.exceptions import DeadlineExceeded
from google.cloud import pubsub_v1
from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
from google.pubsub_v1.types import ReceivedMessage

from common.events.pubsub_publisher import decode_batch
from common.infra.pubsub import plaintext_channel, subscriber_client
from tests.support.local_service import LocalService

BINARY = "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator"


class PubSubEmulator(LocalService):
    name = "pubsub-emulator"
    health_path = "/"  # answers 200 "Ok" once the server is listening

    @property
    def host(self) -> str:
        """The value for PUBSUB_EMULATOR_HOST, and the `endpoint` of `PubSubPublisher`."""
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [BINARY, "--host=127.0.0.1", f"--port={self.port}"]

    @cached_property
    def publisher(self) -> pubsub_v1.PublisherClient:
        channel = plaintext_channel(self.host)
        return pubsub_v1.PublisherClient(transport=PublisherGrpcTransport(host=self.host, channel=channel))

    @cached_property
    def subscriber(self) -> pubsub_v1.SubscriberClient:
        return subscriber_client(self.host)

    def create_topic(self, project: str, topic: str) -> str:
        return str(self.publisher.create_topic(name=self.publisher.topic_path(project, topic)).name)

    def create_pull_subscription(
        self, project: str, topic: str, subscription: str, *, ordered: bool = False
    ) -> str:
        """`ordered` turns on message ordering, without which Pub/Sub ignores ordering keys on delivery."""
        return self._create_subscription(project, topic, subscription, {"enable_message_ordering": ordered})

    def create_push_subscription(self, project: str, topic: str, subscription: str, endpoint: str) -> str:
        """The emulator POSTs the standard push envelope to `endpoint`; any 2xx answer acks, others retry."""
        return self._create_subscription(
            project, topic, subscription, {"push_config": {"push_endpoint": endpoint}}
        )

    def pull(
        self,
        project: str,
        subscription: str,
        max_messages: int = 10,
        timeout: float = 5.0,
        *,
        wait_for: int = 1,
        where: Callable[[ReceivedMessage], bool] = lambda _: True,
    ) -> list[ReceivedMessage]:
        """Acknowledge every message that arrives, and return those `where` accepts once `wait_for` of them
        have arrived, or what came within `timeout`.

        Pub/Sub may answer a pull with fewer messages than are waiting, so this pulls until it has enough;
        `where` lets a test wait for its own kind of message among others the same instance publishes."""
        path = self.subscriber.subscription_path(project, subscription)
        received: list[ReceivedMessage] = []
        wanted = min(wait_for, max_messages)
        deadline = time.monotonic() + timeout
        while len(received) < wanted and (remaining := deadline - time.monotonic()) > 0:
            try:
                response = self.subscriber.pull(
                    subscription=path,
                    max_messages=max_messages,
                    timeout=remaining,
                    retry=None,
                )
            except DeadlineExceeded:
                break
            if not response.received_messages:
                time.sleep(0.05)  # the emulator answers an empty pull at once instead of waiting
                continue
            self.subscriber.acknowledge(
                subscription=path, ack_ids=[m.ack_id for m in response.received_messages]
            )
            received.extend(m for m in response.received_messages if where(m))
        return received

    def pull_events(
        self, project: str, subscription: str, *, wait_for: int, kind: str | None = None, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """The analytics events (JSON lines, several to a message) of `kind`, or of any kind, in the messages
        that arrive, acknowledging them, once `wait_for` such events have arrived or `timeout` has passed."""
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(events) < wait_for and (remaining := deadline - time.monotonic()) > 0:
            for message in self.pull(project, subscription, max_messages=100, timeout=remaining):
                records = [json.loads(line) for line in decode_batch(message.message.data)]
                events += [record for record in records if kind is None or record["kind"] == kind]
        return events

    def _create_subscription(
        self, project: str, topic: str, subscription: str, settings: dict[str, object]
    ) -> str:
        request = {
            "name": self.subscriber.subscription_path(project, subscription),
            "topic": self.publisher.topic_path(project, topic),
            **settings,
        }
        return str(self.subscriber.create_subscription(request=request).name)
