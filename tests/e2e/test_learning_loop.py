"""The learning loop with every part a real process (the shared `system` of tests/e2e/conftest.py): what
people do around a posted answer lands in analytics as signals, once each, and a page many people report
reaches the knowledge admins, whose buttons hide it from answers and bring it back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.slack.escalation_blocks import ARCHIVE_ACTION, RESTORE_ACTION
from common.slack.feedback_blocks import AnswerRef
from tests.support.function_service import FunctionService
from tests.support.slack_payloads import button_click, mention, reaction, thread_reply
from tests.support.slack_standin import SlackCall, SlackStandin
from tests.support.system import ASKER, System

pytestmark = pytest.mark.e2e

ADMINS = "CADMINS"
SOFTWARE_QUESTION = "How do I request new software for my laptop?"


def _ts() -> str:
    return f"1710{uuid.uuid4().int % 10**6:06d}.{uuid.uuid4().int % 10**6:06d}"


def _ask(system: System, question: str) -> tuple[str, SlackCall]:
    ts = _ts()
    assert (
        system.send_event(mention(f"Ev{uuid.uuid4().hex[:10]}", question, ts=ts, user=ASKER)).status_code
        == 200
    )
    [answer] = system.slack.wait_for_match("chat.postMessage", lambda c: c.args.get("thread_ts") == ts)
    return ts, answer


def _ref(answer: SlackCall) -> AnswerRef:
    [actions] = [b for b in answer.args["blocks"] if b.get("block_id") == "kb_feedback"]
    return AnswerRef.from_value(str(actions["elements"][0]["value"]))


def _signals(system: System, answer_id: str, expected: int) -> list[dict[str, Any]]:
    """Functions send events about once a second: ingest until all `expected` are in (bounded)."""
    sql = f"SELECT signal, chunk_ids FROM behavioral_signals WHERE answer_id = '{answer_id}' ORDER BY signal"
    for _ in range(10):
        assert system.run_job("analytics_ingest").status == 0
        rows = system.analytics_query(sql)
        if len(rows) >= expected:
            return rows
    raise AssertionError(f"fewer than {expected} signals for answer {answer_id}")


def test_a_reaction_and_a_thank_you_on_a_posted_answer_land_as_one_signal_each(
    system: System, slack_api: SlackStandin
) -> None:
    question_ts, answer = _ask(system, "How do I connect to the VPN from home?")
    ref = _ref(answer)
    [answer_ts] = slack_api.replies_ts("C111", question_ts)
    thumbs = reaction(f"EvR{uuid.uuid4().hex[:8]}", "+1", item_ts=answer_ts)
    thanks = thread_reply(
        f"EvT{uuid.uuid4().hex[:8]}", "Thanks, that worked!", thread_ts=question_ts, ts=_ts()
    )

    for payload in (thumbs, thumbs, thanks, thanks):  # Slack retries each once
        assert system.send_event(payload).status_code == 200

    rows = _signals(system, ref.answer_id, expected=2)
    cited = sorted(chunk for chunk, _ in ref.cited)
    assert [(row["signal"], sorted(row["chunk_ids"])) for row in rows] == [
        ("gratitude", cited),
        ("reaction_positive", cited),
    ]
    assert slack_api.replies_ts("C111", question_ts) == [answer_ts]  # thanks got no answer


@pytest.fixture
def admin_actions(system: System, tmp_path: Path) -> Iterator[FunctionService]:
    """A `slack_actions` instance of the system with the admins' channel configured."""
    actions = FunctionService(
        "slack_actions", system.env | {"KNOWLEDGE_ADMIN_CHANNEL": ADMINS}, log_dir=tmp_path / "logs"
    ).start()
    yield actions
    actions.stop()


def _click(system: System, url: str, action_id: str, value: str, *, user: str, channel: str = "C111") -> str:
    reply_to = f"r-{uuid.uuid4().hex[:8]}"
    payload = button_click(
        action_id, value, user=user, response_url=system.slack.response_url(reply_to), message_blocks=None
    )
    payload["channel"]["id"] = channel
    assert system.interact(payload, url=url).status_code == 200
    return reply_to


def _search_pages(system: System, question: str) -> set[str]:
    response = system.search(question, top_k=10)
    assert response.status_code == 200
    return {result["page_id"] for result in response.json()["results"]}


def test_three_negative_reports_post_one_escalation_whose_buttons_hide_and_restore_the_page(
    system: System, slack_api: SlackStandin, pages: dict[str, str], admin_actions: FunctionService
) -> None:
    page = pages["1105"]
    _, answer = _ask(system, SOFTWARE_QUESTION)
    ref = _ref(answer)
    assert page in {page_id for _, page_id in ref.cited}
    try:
        for user in ("U-esc-1", "U-esc-2", "U-esc-3", "U-esc-4"):
            thanked = _click(system, admin_actions.url, "kb_vote_incorrect", ref.to_value(), user=user)
            slack_api.wait_for_response(thanked)
        [escalation] = slack_api.wait_for_match(
            "chat.postMessage", lambda c: c.args.get("channel") == ADMINS and page in json.dumps(c.args)
        )
        assert ARCHIVE_ACTION in json.dumps(escalation.args["blocks"])

        hidden = _click(system, admin_actions.url, ARCHIVE_ACTION, page, user="U-admin", channel=ADMINS)

        assert "hidden from answers" in slack_api.wait_for_response(hidden)[0]["text"]
        assert page not in _search_pages(system, SOFTWARE_QUESTION)
        _, again = _ask(system, SOFTWARE_QUESTION)
        cited_again = {page_id for _, page_id in _ref(again).cited} if _has_sources(again) else set()
        assert page not in cited_again
    finally:
        restored = _click(system, admin_actions.url, RESTORE_ACTION, page, user="U-admin", channel=ADMINS)
        assert "restored to answers" in slack_api.wait_for_response(restored)[0]["text"]
    assert page in _search_pages(system, SOFTWARE_QUESTION)
    escalations = [c for c in slack_api.calls_to("chat.postMessage") if c.args.get("channel") == ADMINS]
    assert len([c for c in escalations if page in json.dumps(c.args)]) == 1


def _has_sources(answer: SlackCall) -> bool:
    return any(b.get("block_id") == "kb_feedback" for b in answer.args.get("blocks") or [])
