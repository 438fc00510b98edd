"""How the analytics publisher packs events into Pub/Sub messages: every event once, in order, each message
within the limits, and readable line by line as the ingest job reads it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from common.events.pubsub_publisher import (
    MAX_EVENTS_PER_MESSAGE,
    MAX_MESSAGE_BYTES,
    decode_batch,
    event_messages,
)


def _record(n: int, padding: int = 0) -> dict[str, Any]:
    return {"event_id": f"e{n}", "kind": "chunk_accessed", "note": "é" * padding}


def _unpacked(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(line) for m in event_messages(records) for line in decode_batch(m.data)]


def test_a_message_holds_at_most_the_event_limit() -> None:
    messages = event_messages([_record(n) for n in range(2 * MAX_EVENTS_PER_MESSAGE + 1)])

    assert [len(m.records) for m in messages] == [MAX_EVENTS_PER_MESSAGE, MAX_EVENTS_PER_MESSAGE, 1]


def test_a_message_stays_within_the_byte_limit() -> None:
    records = [_record(n, padding=20_000) for n in range(200)]

    messages = event_messages(records)

    assert len(messages) > 1
    assert all(len(m.data) <= MAX_MESSAGE_BYTES for m in messages)


def test_an_event_larger_than_the_byte_limit_goes_alone() -> None:
    big = _record(1, padding=MAX_MESSAGE_BYTES)

    messages = event_messages([_record(0), big, _record(2)])

    assert [[r["event_id"] for r in m.records] for m in messages] == [["e0"], ["e1"], ["e2"]]


def test_a_message_says_how_many_events_it_holds() -> None:
    [message] = event_messages([_record(n) for n in range(7)])

    assert message.attributes == {"events": "7"}


def test_an_event_with_newlines_in_its_text_stays_one_line() -> None:
    record = {"event_id": "e1", "kind": "query_record", "query": "one\ntwo\r\nthree\u2028four\x85five"}

    assert _unpacked([record]) == [record]


@given(st.lists(st.integers(min_value=0, max_value=3000), max_size=300))
def test_every_event_comes_out_once_in_order(paddings: list[int]) -> None:
    records = [_record(n, padding) for n, padding in enumerate(paddings)]

    assert _unpacked(records) == records
