"""The whole product, every part a real process, driven the way people and schedulers drive it.

The `system` of tests/e2e/conftest.py is shared by the e2e tests: each uses its own Slack threads and pages.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from common.slack.feedback_blocks import AnswerRef
from tests.support.browser import screenshot
from tests.support.confluence_standin import ConfluenceStandin
from tests.support.png import colour_bands
from tests.support.slack_payloads import (
    button_click,
    direct_message,
    mention,
    problem_report,
    quick_knowledge,
)
from tests.support.slack_standin import SlackCall, SlackStandin
from tests.support.system import ASKER, System

pytestmark = pytest.mark.e2e

VPN_QUESTION = "How do I connect to the VPN from home?"


# --- helpers ------------------------------------------------------------------------------------------


def _ts() -> str:
    return f"1700{uuid.uuid4().int % 10**6:06d}.{uuid.uuid4().int % 10**6:06d}"


def _ask_in_channel(system: System, question: str, *, user: str = ASKER) -> SlackCall:
    ts = _ts()
    assert (
        system.send_event(mention(f"Ev{uuid.uuid4().hex[:10]}", question, ts=ts, user=user)).status_code
        == 200
    )
    [answer] = system.slack.wait_for_match("chat.postMessage", lambda c: c.args.get("thread_ts") == ts)
    return answer


def _feedback_value(answer: SlackCall) -> str:
    actions = [b for b in answer.args.get("blocks") or [] if b.get("block_id") == "kb_feedback"]
    assert actions, f"not an answer with feedback buttons: {answer.args.get('text')!r}"
    return str(actions[0]["elements"][0]["value"])


def _cited(answer: SlackCall) -> list[str]:
    return [chunk for chunk, _ in AnswerRef.from_value(_feedback_value(answer)).cited]


def _click(system: System, action_id: str, value: str, *, user: str, blocks: list[Any] | None = None) -> str:
    """A button press; returns the name of the response_url its thank-you goes to."""
    reply_to = f"r-{uuid.uuid4().hex[:8]}"
    payload = button_click(
        action_id, value, user=user, response_url=system.slack.response_url(reply_to), message_blocks=blocks
    )
    assert system.interact(payload).status_code == 200
    return reply_to


def _report_data(system: System, out: Path) -> dict[str, Any]:
    done = system.kb("report", "--out", str(out))
    assert done.returncode == 0, done.stderr
    found = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', out.read_text(), re.S
    )
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


# --- flows --------------------------------------------------------------------------------------------


def test_a_question_is_answered_rated_reported_reviewed_and_reported_on(
    system: System, slack_api: SlackStandin, pages: dict[str, str], tmp_path: Path
) -> None:
    first = _ask_in_channel(system, VPN_QUESTION)
    assert "Sources" in json.dumps(first.args["blocks"])
    dm_ts = _ts()
    assert system.send_event(direct_message("EvDm1", VPN_QUESTION, ts=dm_ts)).status_code == 200
    [in_dm] = slack_api.wait_for_match("chat.postMessage", lambda c: c.args.get("thread_ts") == dm_ts)
    assert _cited(in_dm)

    value = _feedback_value(first)
    for user in (ASKER, "U2", "U3"):
        thanked = _click(system, "kb_vote_not_helpful", value, user=user, blocks=first.args["blocks"])
        assert "Thanks" in json.dumps(slack_api.wait_for_response(thanked))
    again = _ask_in_channel(system, VPN_QUESTION)
    assert _cited(again) != _cited(first)

    ref = AnswerRef.from_value(value)
    correction = "The VPN portal moved to vpn2.larkspur.example"
    report = problem_report(value, "outdated", user=ASKER, correction=correction)
    assert system.interact(report).status_code == 200
    [notice] = slack_api.wait_for_match(
        "chat.postMessage",
        lambda c: c.args["channel"] in {"UPRIYA", "DUPRIYA"} and "VPN Setup" in json.dumps(c.args),
    )
    assert correction in json.dumps(notice.args["blocks"]) and "kb_mark_reviewed" in json.dumps(notice.args)
    _click(system, "kb_mark_reviewed", pages["1101"], user="UPRIYA")
    reviewed = system.store().get_metadata(where={"page_id": pages["1101"]}).values()
    assert {meta.reviewed_by for meta in reviewed} == {"priya.raman@larkspur.example"}

    votes = system.ingest_until(
        f"SELECT vote FROM user_feedback WHERE answer_id = '{ref.answer_id}' AND vote = 'outdated'"
    )
    assert len(votes) == len(ref.cited)  # one row per cited chunk, each once
    answered = system.analytics_query(
        f"SELECT answer_id FROM bot_responses WHERE answer_id = '{ref.answer_id}'"
    )
    assert answered == [{"answer_id": ref.answer_id}]
    data = _report_data(system, tmp_path / "report.html")
    [asked] = [q for q in data["unanswered_questions"] if q["question"] == VPN_QUESTION.lower()]
    assert asked["asks"] >= 3 and asked["negative_feedback"] >= 3
    assert sum(week["not_helpful"] for week in data["feedback_by_week"]) >= 3
    assert data["answers"]["answered"] >= 3


def test_knowledge_saved_from_slack_answers_the_next_question(
    system: System, slack_api: SlackStandin
) -> None:
    saved = quick_knowledge(
        "Badge printer in the lobby",
        "The lobby badge printer takes visitor badges only; lost employee badges go to security on floor 3.",
        user=ASKER,
    )

    assert system.interact(saved).status_code == 200
    [confirmed] = slack_api.wait_for_match("chat.postEphemeral", lambda c: "Badge printer" in c.args["text"])
    assert "searchable now" in confirmed.args["text"]
    answer = _ask_in_channel(system, "Where do I get a replacement for a lost employee badge?")

    chunks = system.store().get_metadata(ids=_cited(answer))
    assert any(meta.source == "slack" for meta in chunks.values())
    assert "floor 3" in json.dumps(answer.args["blocks"])


def test_an_edited_page_is_resynced_keeping_the_scores_of_what_did_not_change(
    system: System, confluence: ConfluenceStandin, pages: dict[str, str]
) -> None:
    page = pages["1103"]
    store = system.store()
    before = store.get_metadata(where={"page_id": page})
    ref = AnswerRef(
        answer_id=uuid.uuid4().hex, question="reset", cited=tuple((c, page) for c in sorted(before))
    )
    _click(system, "kb_vote_helpful", ref.to_value(), user="U7")
    voted = store.get_metadata(where={"page_id": page})
    body = confluence.pages[page].body

    confluence.edit_page(page, body=body.replace("</p>", " Call the service desk on 4357 first.</p>", 1))
    run = system.run_job("confluence_sync")

    summary = run.finished("confluence_sync")
    assert run.status == 0 and summary["pages_changed"] == 1
    after = store.get_metadata(where={"page_id": page})
    assert 0 < summary["chunks_embedded"] < len(before)
    unchanged = [cid for cid in after if cid in voted and after[cid].content_hash == voted[cid].content_hash]
    assert unchanged and all(after[cid].quality_score == voted[cid].quality_score for cid in unchanged)
    assert all(voted[cid].quality_score > before[cid].quality_score for cid in unchanged)


def test_a_page_deleted_in_confluence_disappears_from_answers(
    system: System, confluence: ConfluenceStandin, pages: dict[str, str]
) -> None:
    page = pages["1106"]
    question = "How do I connect to the office Wi-Fi?"
    assert page in {r["page_id"] for r in system.search(question).json()["results"]}

    confluence.delete_page(page)
    run = system.run_job("confluence_sync")

    assert run.status == 0 and run.finished("confluence_sync")["pages_deleted"] == 1
    assert system.store().get_metadata(where={"page_id": page}) == {}
    assert page not in {r["page_id"] for r in system.search(question).json()["results"]}
    answer = _ask_in_channel(system, question)
    assert all(not chunk.startswith(f"{page}-") for chunk in _cited(answer))


def test_the_report_of_everything_above_is_filled_and_renders_in_a_real_browser(
    system: System, tmp_path: Path
) -> None:
    """Last in the package: by now the flows above put questions, answers, votes, signals, an escalation and
    a nightly evaluation into the deployment's analytics. The screenshot stays in `tmp_path` to look at."""
    data = _report_data(system, tmp_path / "report.html")

    assert sum(day["questions"] for day in data["questions_per_day"]) >= 5
    assert data["answers"]["answered"] >= 3 and data["unanswered_questions"]
    signals = {name for week in data["signals_by_week"] for name, n in week.items() if name != "week" and n}
    assert {"reaction_positive", "gratitude"} <= signals
    assert data["evaluation_trend"] and data["pages_needing_attention"]
    png = screenshot(tmp_path / "report.html")
    tall = [height for height in colour_bands(png, (0x4C, 0x78, 0xA8)) if height > 30]
    assert tall, "the questions chart drew no bars"
