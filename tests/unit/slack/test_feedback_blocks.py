"""Slack request verification and the answer reference carried by feedback buttons."""

from __future__ import annotations

import json
import time

import pytest

from common.errors import InvalidInteraction, SlackRequestRejected
from common.slack.feedback_blocks import AnswerRef, feedback_actions, thanks_blocks
from common.slack.signing import verify_slack_request
from tests.support.paths import REPO_ROOT
from tests.support.slack_signing import sign

VECTOR = json.loads(
    (REPO_ROOT.parent / "shared/fixtures/slack/python-slack-sdk__signature_test_vector.json").read_text()
)
REF = AnswerRef(
    answer_id="A1", question="How do I connect?", cited=(("1101-aa", "1101"), ("1101-bb", "1101"))
)


def test_slacks_published_signature_vector_verifies() -> None:
    headers = {
        "X-Slack-Request-Timestamp": str(VECTOR["timestamp"]),
        "X-Slack-Signature": VECTOR["expected_signature"],
    }

    verify_slack_request(
        body=VECTOR["body"].encode(),
        headers=headers,
        secret=VECTOR["signing_secret"],
        now=float(VECTOR["timestamp"]),
    )


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "no Slack signature"),
        ({"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}, "not a number"),
    ],
)
def test_requests_without_usable_signature_headers_are_refused(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(SlackRequestRejected, match=reason):
        verify_slack_request(body=b"x", headers=headers, secret="s", now=time.time())


def test_a_signature_over_five_minutes_old_is_refused_as_a_replay() -> None:
    old = int(time.time()) - 301

    with pytest.raises(SlackRequestRejected, match="replayed"):
        verify_slack_request(
            body=b"x", headers=sign(b"x", secret="s", timestamp=old), secret="s", now=time.time()
        )


def test_an_answer_reference_survives_a_button_value() -> None:
    [helpful, *_] = feedback_actions(REF)["elements"]

    assert AnswerRef.from_value(helpful["value"]) == REF


@pytest.mark.parametrize(
    "value", ["", "not json", '{"a": "A1"}', '{"a": "A1", "c": []}', '{"a": "", "c": [["x", "y"]]}']
)
def test_a_button_value_that_is_not_an_answer_reference_is_refused(value: str) -> None:
    with pytest.raises(InvalidInteraction):
        AnswerRef.from_value(value)


def test_the_thank_you_keeps_the_answer_and_drops_the_buttons() -> None:
    answer = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Use GlobalProtect."}},
        feedback_actions(REF),
    ]

    blocks = thanks_blocks(answer, "helpful", "U1")

    assert blocks[0] == answer[0]
    assert all(block.get("block_id") != "kb_feedback" for block in blocks)
    assert "<@U1>" in blocks[-1]["elements"][0]["text"]


def test_an_answer_citing_too_many_chunks_for_a_button_is_refused() -> None:
    huge = AnswerRef(answer_id="A1", question="q", cited=tuple((f"chunk-{n:040d}", "p") for n in range(60)))

    with pytest.raises(ValueError, match="too many"):
        huge.to_value()
