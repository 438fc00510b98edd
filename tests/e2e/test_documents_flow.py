"""Documents end to end: a Slack thread becomes a policy, is sent back, revised, approved by two approvers
at the same moment on two instances, published once to Confluence, and answers the next question.

Every part is a real process (the `system` of tests/e2e/conftest.py, workflow state in fake-gcs-server);
Slack and Confluence are the HTTP stand-ins.
"""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from common.slack.document_blocks import (
    APPROVE_ACTION,
    CHANGES_ACTION,
    REVISE_ACTION,
    SLASH_COMMAND,
    THREAD_SHORTCUT,
)
from tests.support.confluence_standin import ConfluenceStandin
from tests.support.function_service import FunctionService
from tests.support.slack_payloads import button_click, message_shortcut, slash_command, submitted_view
from tests.support.slack_standin import SlackCall, SlackStandin
from tests.support.system import System

pytestmark = pytest.mark.e2e

AUTHOR, FIRST, SECOND = "UDOCAUTHOR", "UDOCFIRST", "UDOCSECOND"
AREA = "facilities"


@pytest.fixture(scope="module")
def area(system: System, slack_api: SlackStandin) -> str:
    slack_api.add_user(AUTHOR, "rosa.diaz@larkspur.example", "Rosa Diaz")
    slack_api.add_user(FIRST, "amir.haddad@larkspur.example", "Amir Haddad")
    slack_api.add_user(SECOND, "lena.fischer@larkspur.example", "Lena Fischer")
    done = system.kb("approvers", "set", AREA, FIRST, SECOND, "--space", "HB")
    assert done.returncode == 0, done.stderr
    return AREA


# --- helpers ------------------------------------------------------------------------------------------


def _ts() -> str:
    return f"1701{uuid.uuid4().int % 10**6:06d}.{uuid.uuid4().int % 10**6:06d}"


def _dm(slack: SlackStandin, user: str, *fragments: str) -> SlackCall:
    """The DM to `user` whose text has every fragment, waiting for it to be sent."""
    [call] = slack.wait_for_match(
        "chat.postMessage",
        lambda c: c.args.get("channel") == user and all(f in c.args.get("text", "") for f in fragments),
    )
    return call


def _buttons(call: SlackCall) -> dict[str, str]:
    return {
        element["action_id"]: element["value"]
        for block in call.args.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    }


def _click(system: System, action_id: str, value: str, *, user: str, url: str | None = None) -> str:
    reply_to = f"doc-{uuid.uuid4().hex[:8]}"
    payload = button_click(
        action_id, value, user=user, response_url=system.slack.response_url(reply_to), message_blocks=None
    )
    assert system.interact(payload, url=url).status_code == 200
    return reply_to


def _submit(system: System, view: dict[str, Any], values: dict[str, str], *, user: str) -> Any:
    response = system.interact(submitted_view(view, values, user=user))
    assert response.status_code == 200, response.text
    return response.json()


def _document(system: System, title: str) -> dict[str, Any]:
    done = system.kb("doc", "list", "--json")
    assert done.returncode == 0, done.stderr
    [doc] = [d for d in json.loads(done.stdout) if d["title"] == title]
    return doc


def _pages_of(confluence: ConfluenceStandin, document_id: str) -> list[str]:
    return [p.page_id for p in confluence.pages.values() if f"kb-doc-{document_id}" in p.labels]


def _creates(confluence: ConfluenceStandin) -> int:
    return sum(
        e.method == "POST" and e.path.rstrip("/").endswith("/rest/api/content") for e in confluence.writes()
    )


# --- flows --------------------------------------------------------------------------------------------


def test_a_thread_becomes_a_policy_approved_at_once_by_two_approvers_and_published_once(
    system: System, slack_api: SlackStandin, confluence: ConfluenceStandin, area: str, tmp_path: Path
) -> None:
    thread = _ts()
    slack_api.add_thread_message("C777", thread, "Where do I get a permit for the office garage?",
                                 user=AUTHOR, thread_ts=thread)  # fmt: skip
    slack_api.add_thread_message("C777", _ts(), "Garage permits are issued by Facilities at the front desk "
                                 "on floor 1: bring your car registration.", user=SECOND,
                                 thread_ts=thread)  # fmt: skip
    slack_api.add_thread_message("C777", _ts(), "thanks!", user=AUTHOR, thread_ts=thread)

    # The shortcut opens the modal at once; the draft from the whole thread replaces it when ready.
    system.interact(message_shortcut(THREAD_SHORTCUT, user=AUTHOR, channel="C777", ts=thread))
    view_id = slack_api.last_opened_view()["id"]
    slack_api.wait_for_match("views.update", lambda c: c.args.get("view_id") == view_id)
    draft = slack_api.view(view_id)
    assert "Garage permits are issued by Facilities" in json.dumps(draft)
    assert "Lena Fischer" in json.dumps(draft)

    title = f"Garage permits {uuid.uuid4().hex[:6]}"
    answer = _submit(system, draft, {"title": title, "area": area, "doc_type": "policy"}, user=AUTHOR)
    assert answer == {"response_action": "clear"}
    first_request = _buttons(_dm(slack_api, FIRST, title))
    second_request = _buttons(_dm(slack_api, SECOND, title))

    # One approver sends it back; the author revises it into version 2, which goes to both again.
    _click(system, CHANGES_ACTION, first_request[CHANGES_ACTION], user=FIRST)
    _submit(system, slack_api.last_opened_view(), {"reason": "Say how long a permit lasts"}, user=FIRST)
    sent_back = _dm(slack_api, AUTHOR, "asked for changes", title)
    _click(system, REVISE_ACTION, _buttons(sent_back)[REVISE_ACTION], user=AUTHOR)
    revise = slack_api.last_opened_view()
    body = next(b for b in revise["blocks"] if b.get("block_id") == "body")["element"]["initial_value"]
    _submit(system, revise, {"body": body + "\n\nA permit lasts one year.", "note": "How long"}, user=AUTHOR)
    first_v2 = _buttons(_dm(slack_api, FIRST, title, "version 2"))
    second_v2 = _buttons(_dm(slack_api, SECOND, title, "version 2"))

    # A click on the superseded version's button is refused.
    refused = _click(system, APPROVE_ACTION, second_request[APPROVE_ACTION], user=SECOND)
    assert "decision on version 1" in json.dumps(slack_api.wait_for_response(refused))

    # Both approve version 2 at the same moment, each on another instance.
    creates_before = _creates(confluence)
    other = FunctionService("slack_actions", system.env, log_dir=tmp_path / "logs").start()
    try:
        barrier = threading.Barrier(2)

        def approve(user: str, value: str, url: str | None) -> None:
            barrier.wait()
            _click(system, APPROVE_ACTION, value, user=user, url=url)

        clicks = [(FIRST, first_v2[APPROVE_ACTION], None), (SECOND, second_v2[APPROVE_ACTION], other.url)]
        threads = [threading.Thread(target=approve, args=click) for click in clicks]
        for thread_ in threads:
            thread_.start()
        for thread_ in threads:
            thread_.join()
        published = _dm(slack_api, AUTHOR, title, "is published")
        doc = _document(system, title)
        # Before the other instance is stopped (a SIGKILL, like a crash): its last second of events would
        # go with it, and it may be the one that published.
        events = system.ingest_until(
            f"SELECT event_id FROM documents WHERE document_id = '{doc['id']}' AND transition = 'published'"
        )
    finally:
        other.stop()

    assert doc["status"] == "published" and doc["version"] == 2
    [page_id] = _pages_of(confluence, doc["id"])
    assert _creates(confluence) == creates_before + 1
    assert page_id in json.dumps(published.args)
    assert "A permit lasts one year." in confluence.pages[page_id].body
    assert len(events) == 1

    # The next sync finds the page already indexed at its version, and the next question is answered from it.
    indexed = system.store().get_metadata(where={"page_id": page_id})
    assert indexed and {m.owner for m in indexed.values()} == {"rosa.diaz@larkspur.example"}
    assert system.run_job("confluence_sync").status == 0
    assert system.store().get_metadata(where={"page_id": page_id}) == indexed
    asked = system.kb("ask", "How long does a garage permit last?")
    assert asked.returncode == 0, asked.stderr
    assert title in asked.stdout and page_id in asked.stdout


def test_a_guideline_is_published_at_once(
    system: System, slack_api: SlackStandin, confluence: ConfluenceStandin, area: str
) -> None:
    title = f"Bike storage {uuid.uuid4().hex[:6]}"
    system.interact(slash_command(SLASH_COMMAND, "", user=AUTHOR))
    start = slack_api.last_opened_view()

    typed = {"title": title, "area": area, "doc_type": "guideline", "body": "Bikes go in the basement racks."}

    _submit(system, start, typed, user=AUTHOR)

    _dm(slack_api, AUTHOR, title, "is published")
    assert len(_pages_of(confluence, _document(system, title)["id"])) == 1


def test_confluence_down_at_publish_then_up_publishes_once(
    system: System, slack_api: SlackStandin, confluence: ConfluenceStandin, area: str
) -> None:
    title = f"Meeting rooms {uuid.uuid4().hex[:6]}"
    confluence.fail("500", times=1000, path="/rest/api/content")
    try:
        system.interact(slash_command(SLASH_COMMAND, "", user=AUTHOR))
        typed = {
            "title": title,
            "area": area,
            "doc_type": "information",
            "body": "Rooms are booked in the calendar.",
        }
        _submit(system, slack_api.last_opened_view(), typed, user=AUTHOR)
        _dm(slack_api, AUTHOR, title, "could not be published yet")
    finally:
        confluence.clear_faults()
    doc = _document(system, title)
    assert doc["status"] == "approved" and _pages_of(confluence, doc["id"]) == []

    run = system.run_job("document_workflow")

    assert run.status == 0, run.output
    assert run.finished("document_workflow")["published"] == [doc["id"]]
    assert len(_pages_of(confluence, doc["id"])) == 1
    _dm(slack_api, AUTHOR, title, "is published")
    again = system.run_job("document_workflow")
    assert again.finished("document_workflow")["published"] == []
    assert len(_pages_of(confluence, doc["id"])) == 1
