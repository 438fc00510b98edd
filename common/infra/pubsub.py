"""Pub/Sub in both directions: publishing that fails loudly, and decoding what Pub/Sub delivers.

Publishing blocks until the server has the message, because a caller such as the Slack webhook handing a
question to `slack_answer` must know whether the hand-off happened before it answers its own caller. (The
analytics path, which must never fail a user's request, wraps this publisher rather than calling it bare.)
A publish that times out may still be delivered later, since the client keeps retrying in the background:
delivery is at least once and consumers drop duplicates by id.

Against the emulator the client needs a plaintext gRPC channel: `client_options={"api_endpoint": ...}` with
anonymous credentials alone still speaks TLS, and the emulator fails the handshake (measured). The library's
own switch is the process-wide `PUBSUB_EMULATOR_HOST` variable, so the channel is built here instead.

Message ordering is enabled only on a second client, created the first time an ordering key is used: with
ordering on, the library retries every publish forever (it overrides any retry deadline), which would leave
unordered messages without a bounded retry.

Deliveries arrive in these shapes:

* A push subscription POSTs `{"message": {"data": <base64>, "attributes": {...}, "messageId", "message_id",
  "publishTime", "publish_time"}, "subscription": "projects/p/subscriptions/s"}` (read by `decode_push`),
  plus a top-level `deliveryAttempt` when the subscription has a dead-letter policy (real Pub/Sub only; the
  emulator never sends it). The emulator sends `"attributes": {}` for a message without attributes; the key
  may also be missing. `data` is `""` for an attribute-only message.

`slack_answer` is a plain HTTP target reading this envelope itself: as a CloudEvent target,
functions-framework's conversion of a push dropped `deliveryAttempt` and answered 500 to some bodies before
our code ran.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import grpc
from google.api_core import exceptions as google_errors
from google.api_core.retry import Retry, if_transient_error
from google.cloud import pubsub_v1
from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

from common.errors import InvalidPushMessage, QueueUnavailable, TopicNotFound

DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_DELIVERY_ATTEMPTS = 5
"""The push subscription's dead-letter policy (terraform/pubsub.tf) delivers a message this many times."""
GIVE_UP_AFTER = timedelta(minutes=5)
# The client library takes attributes as keyword arguments beside its own parameters, so these names collide.
RESERVED_ATTRIBUTES = frozenset({"topic", "data", "ordering_key", "retry", "timeout"})


@dataclass(frozen=True, slots=True)
class PushedMessage:
    message_id: str
    data: bytes
    attributes: dict[str, str]
    publish_time: str
    subscription: str
    delivery_attempt: int | None
    """Only set by subscriptions with a dead-letter policy."""

    def is_last_attempt(self, now: datetime) -> bool:
        """Whether Pub/Sub will not deliver this message again if this attempt fails, so the work should end
        with a visible failure rather than wait for a redelivery. Pub/Sub reports the attempt only with a
        dead-letter policy and only in some push shapes, so the message's age decides too."""
        if self.delivery_attempt is not None and self.delivery_attempt >= MAX_DELIVERY_ATTEMPTS:
            return True
        published = datetime.fromisoformat(self.publish_time.replace("Z", "+00:00"))
        return now - published > GIVE_UP_AFTER


class PubSubPublisher:
    def __init__(
        self,
        project: str,
        topic: str,
        *,
        endpoint: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.topic_path = pubsub_v1.PublisherClient.topic_path(project, topic)
        self._endpoint = endpoint
        self._timeout = timeout
        self._clients: dict[bool, pubsub_v1.PublisherClient] = {}
        self._lock = threading.Lock()

    def publish(
        self,
        data: bytes,
        *,
        attributes: Mapping[str, str] | None = None,
        ordering_key: str | None = None,
    ) -> str:
        """Publish one message and return the id the server gave it."""
        clashing = RESERVED_ATTRIBUTES.intersection(attributes or {})
        if clashing:
            raise ValueError(
                f"Pub/Sub attribute names {sorted(clashing)} cannot be published with this client."
            )
        client = self._client(ordered=bool(ordering_key))
        future = client.publish(self.topic_path, data, ordering_key=ordering_key or "", **(attributes or {}))
        try:
            return str(future.result(timeout=self._timeout))
        except TimeoutError as exc:
            raise self._unavailable(f"no answer within {self._timeout:g} s") from exc
        except google_errors.GoogleAPIError as exc:
            if ordering_key:
                # A failed ordered publish pauses its key; without this every later publish with it fails.
                client.resume_publish(self.topic_path, ordering_key)
            if isinstance(exc, google_errors.NotFound):
                raise TopicNotFound(
                    f"Pub/Sub topic {self.topic_path} does not exist: create it (terraform apply) or "
                    "correct the topic name and GCP_PROJECT settings."
                ) from exc
            raise self._unavailable(str(exc)) from exc

    def publish_many(self, messages: Sequence[tuple[bytes, Mapping[str, str]]]) -> list[int]:
        """Publish unordered messages together (the client batches them into few requests) and return the
        indexes of those that failed, for callers that keep and retry what did not go out."""
        client = self._client(ordered=False)
        futures = [client.publish(self.topic_path, data, **attributes) for data, attributes in messages]
        failed = []
        for index, future in enumerate(futures):
            try:
                future.result(timeout=self._timeout)
            except (TimeoutError, google_errors.GoogleAPIError):
                failed.append(index)
        return failed

    def publish_json(
        self,
        obj: Mapping[str, Any],
        *,
        attributes: Mapping[str, str] | None = None,
        ordering_key: str | None = None,
    ) -> str:
        data = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
        return self.publish(data, attributes=attributes, ordering_key=ordering_key)

    def _client(self, *, ordered: bool) -> pubsub_v1.PublisherClient:
        with self._lock:
            if ordered not in self._clients:
                options = pubsub_v1.types.PublisherOptions(
                    enable_message_ordering=ordered,
                    # Short backoff: the default (1 s, doubling) gives up with most of a short budget unspent.
                    retry=Retry(
                        predicate=if_transient_error, initial=0.1, maximum=1.0, timeout=self._timeout
                    ),
                    timeout=self._timeout,
                )
                if self._endpoint is None:
                    client = pubsub_v1.PublisherClient(publisher_options=options)
                else:
                    channel = plaintext_channel(self._endpoint)
                    transport = PublisherGrpcTransport(host=self._endpoint, channel=channel)
                    client = pubsub_v1.PublisherClient(publisher_options=options, transport=transport)
                self._clients[ordered] = client
            return self._clients[ordered]

    def _unavailable(self, reason: str) -> QueueUnavailable:
        server = self._endpoint or "pubsub.googleapis.com"
        return QueueUnavailable(
            f"Publishing to Pub/Sub topic {self.topic_path} failed ({reason}): check that {server} is "
            "reachable and that this service account may publish to the topic (roles/pubsub.publisher)."
        )


def plaintext_channel(endpoint: str) -> grpc.Channel:
    """The channel every client of the emulator at `endpoint` uses. Without the client's own limits gRPC
    refuses a message over 4 MB, which a pull of 100 messages of events exceeds (measured: 10.9 MB)."""
    return grpc.insecure_channel(
        endpoint, options=[("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    )


def subscriber_client(endpoint: str | None) -> pubsub_v1.SubscriberClient:
    """A subscriber for Google, or over a plaintext channel for the emulator at `endpoint` (see above)."""
    if endpoint is None:
        return pubsub_v1.SubscriberClient()
    transport = SubscriberGrpcTransport(host=endpoint, channel=plaintext_channel(endpoint))
    return pubsub_v1.SubscriberClient(transport=transport)


def decode_push(body: bytes) -> PushedMessage:
    """Read the body a push subscription POSTs."""
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidPushMessage(f"Pub/Sub push body is not JSON: {exc}") from exc
    if not isinstance(envelope, dict):
        raise InvalidPushMessage("Pub/Sub push body must be a JSON object with `message` and `subscription`.")
    return _decode_envelope(envelope)


def _decode_envelope(envelope: Mapping[str, Any]) -> PushedMessage:
    message = envelope.get("message")
    if not isinstance(message, dict):
        raise InvalidPushMessage("Pub/Sub envelope has no `message` object.")
    message_id = _text(message, "messageId", "message.messageId")
    publish_time = _timestamp(_text(message, "publishTime", "message.publishTime"), message_id)
    subscription = _text(envelope, "subscription", "subscription")
    encoded = message.get("data", "")
    if not isinstance(encoded, str):
        raise InvalidPushMessage(f"Pub/Sub message {message_id}: `message.data` must be a base64 string.")
    try:
        data = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise InvalidPushMessage(f"Pub/Sub message {message_id}: `message.data` is not base64.") from exc
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in attributes.items()
    ):
        raise InvalidPushMessage(
            f"Pub/Sub message {message_id}: `message.attributes` must map strings to strings."
        )
    attempt = envelope.get("deliveryAttempt")
    if attempt is not None and (not isinstance(attempt, int) or isinstance(attempt, bool)):
        raise InvalidPushMessage(f"Pub/Sub message {message_id}: `deliveryAttempt` must be an integer.")
    return PushedMessage(
        message_id=message_id,
        data=data,
        attributes=dict(attributes),
        publish_time=publish_time,
        subscription=subscription,
        delivery_attempt=attempt,
    )


def _text(container: Mapping[str, Any], key: str, where: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidPushMessage(f"Pub/Sub envelope has no `{where}` string.")
    return value


def _timestamp(value: str, message_id: str) -> str:
    """Pub/Sub writes RFC 3339 UTC times; anything else would fail whoever compares it with the clock."""
    try:
        aware = datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        aware = False
    if not aware:
        raise InvalidPushMessage(
            f"Pub/Sub message {message_id}: `message.publishTime` is not an RFC 3339 time."
        )
    return value
