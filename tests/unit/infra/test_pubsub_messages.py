"""Decoding what Pub/Sub pushes, without a server."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from common.errors import InvalidPushMessage, KbError
from common.infra.pubsub import PubSubPublisher, PushedMessage, decode_push

SUBSCRIPTION = "projects/kb/subscriptions/answer"


def _envelope(**message_overrides: Any) -> dict[str, Any]:
    message = {
        "data": base64.b64encode(b"hello").decode(),
        "attributes": {"kind": "question"},
        "messageId": "42",
        "message_id": "42",
        "publishTime": "2026-01-02T03:04:05.678Z",
        "publish_time": "2026-01-02T03:04:05.678Z",
    }
    message.update(message_overrides)
    return {"message": {k: v for k, v in message.items() if v is not None}, "subscription": SUBSCRIPTION}


def _body(envelope: Any) -> bytes:
    return json.dumps(envelope).encode()


def test_a_push_body_decodes_to_its_message() -> None:
    assert decode_push(_body(_envelope())) == PushedMessage(
        message_id="42",
        data=b"hello",
        attributes={"kind": "question"},
        publish_time="2026-01-02T03:04:05.678Z",
        subscription=SUBSCRIPTION,
        delivery_attempt=None,
    )


def test_an_attribute_only_message_has_empty_data_and_a_message_without_attributes_has_none() -> None:
    assert decode_push(_body(_envelope(data=""))).data == b""
    assert decode_push(_body(_envelope(attributes=None))).attributes == {}


def test_a_dead_letter_subscriptions_delivery_attempt_is_kept() -> None:
    assert decode_push(_body({**_envelope(), "deliveryAttempt": 3})).delivery_attempt == 3


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (_body(["a list"]), "must be a JSON object"),
        (_body({"subscription": SUBSCRIPTION}), "no `message` object"),
        (_body(_envelope(messageId=None)), "no `message.messageId`"),
        (_body(_envelope(publishTime=None)), "no `message.publishTime`"),
        (_body({"message": _envelope()["message"]}), "no `subscription`"),
        (_body(_envelope(data="%%% not base64")), "`message.data` is not base64"),
        (_body(_envelope(data=12)), "`message.data` must be a base64 string"),
        (_body(_envelope(attributes={"n": 1})), "`message.attributes` must map strings to strings"),
        (_body({**_envelope(), "deliveryAttempt": "3"}), "`deliveryAttempt` must be an integer"),
    ],
)
def test_a_malformed_push_body_is_rejected_saying_what_is_wrong(body: bytes, complaint: str) -> None:
    with pytest.raises(InvalidPushMessage, match=complaint):
        decode_push(body)


def test_invalid_push_message_is_one_of_the_products_errors() -> None:
    assert issubclass(InvalidPushMessage, KbError)


def test_attribute_names_the_client_library_reserves_are_refused_before_publishing() -> None:
    publisher = PubSubPublisher("kb", "kb-questions", endpoint="127.0.0.1:1")

    with pytest.raises(ValueError, match=r"\['data', 'timeout'\]"):
        publisher.publish(b"x", attributes={"data": "1", "timeout": "2", "fine": "3"})
