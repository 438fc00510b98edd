"""Documents from Slack through functions-framework's real `slack_actions` app: signed payloads shaped like
`../shared/fixtures/slack/`, the Slack Web API stand-in, the workflow and index on the embedded default."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from functions_framework import create_app
from werkzeug.test import TestResponse

from common.config import load_settings
from common.documents.model import Document
from common.runtime.documents import build_document_workflow
from common.runtime.store import build_store
from tests.support.paths import REPO_ROOT
from tests.support.slack_payloads import button_click, message_shortcut, slash_command, submitted_view
from tests.support.slack_signing import form_body, sign
from tests.support.slack_standin import SlackStandin, point_settings_at

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
AUTHOR, APPROVER, OTHER_APPROVER = "UANA", "UBEN", "UCAT"
BODY = "## Steps\n\n1. Open the VPN client\n2. Choose *Home* and sign in with your badge number\n"


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandin]:
    with SlackStandin() as standin:
        standin.add_user(AUTHOR, "ana.lima@example.com", "Ana Lima")
        standin.add_user(APPROVER, "ben.okafor@example.com", "Ben Okafor")
        standin.add_user(OTHER_APPROVER, "cat.ng@example.com", "Cat Ng")
        point_settings_at(standin, monkeypatch, signing_secret=SECRET)
        workflow = build_document_workflow(load_settings())
        workflow.set_area("it", (APPROVER, OTHER_APPROVER), space_key="IT")
        workflow.set_area("handbook", (), space_key="HB")
        yield standin


@pytest.fixture
def client(slack: SlackStandin) -> FlaskClient:
    return create_app(target="slack_actions", source=str(REPO_ROOT / "functions" / "main.py")).test_client()


def post(client: FlaskClient, payload: dict[str, Any] | bytes) -> TestResponse:
    """Sign and send like Slack, then let the work that follows the answer finish."""
    body = payload if isinstance(payload, bytes) else form_body(payload)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)}
    response = client.post("/", data=body, headers=headers)
    sys.modules["main"]._interactions().drain()
    return response


def open_start(client: FlaskClient, slack: SlackStandin) -> dict[str, Any]:
    post(client, slash_command("/kb-doc", "", user=AUTHOR))
    return slack.last_opened_view()


def submit_policy(client: FlaskClient, slack: SlackStandin, **values: str) -> TestResponse:
    start = open_start(client, slack)
    typed = {"title": "VPN from home", "area": "it", "doc_type": "policy", "body": BODY, **values}
    return post(client, submitted_view(start, typed, user=AUTHOR))


def only_document() -> Document:
    [doc] = build_document_workflow(load_settings()).documents()
    return doc


def decision_request(slack: SlackStandin, approver: str) -> dict[str, str]:
    """The approver's latest request: its buttons' values by action id."""
    message = slack.messages_to(approver)[-1]
    actions = next(b for b in message.args["blocks"] if b["type"] == "actions")
    return {button["action_id"]: button["value"] for button in actions["elements"]}


def click(client: FlaskClient, slack: SlackStandin, action_id: str, value: str, *, user: str) -> TestResponse:
    payload = button_click(
        action_id, value, user=user, response_url=slack.response_url(user), message_blocks=None
    )
    return post(client, payload)


def ask_for_changes(client: FlaskClient, slack: SlackStandin, approver: str) -> None:
    """Click Request changes, which opens the modal for the reason."""
    value = decision_request(slack, approver)["kb_doc_request_changes"]
    click(client, slack, "kb_doc_request_changes", value, user=approver)


# --- starting ------------------------------------------------------------------------------------------


def test_the_command_opens_a_modal_with_the_areas_types_and_the_author_as_owner(
    client: FlaskClient, slack: SlackStandin
) -> None:
    view = open_start(client, slack)

    blocks = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert view["callback_id"] == "kb_doc_start"
    assert [o["value"] for o in blocks["area"]["element"]["options"]] == ["handbook", "it"]
    assert [o["value"] for o in blocks["doc_type"]["element"]["options"]] == [
        "policy", "procedure", "guideline", "information",
    ]  # fmt: skip
    assert blocks["owner"]["element"]["initial_user"] == AUTHOR


def test_a_description_opens_the_draft_at_once_and_fills_it_when_ready(
    client: FlaskClient, slack: SlackStandin
) -> None:
    start = open_start(client, slack)
    typed = {"area": "it", "doc_type": "procedure", "description": "Restart the VPN client when it hangs."}

    response = post(client, submitted_view(start, typed, user=AUTHOR))

    assert response.get_json()["response_action"] == "update"
    assert "Writing a first draft" in json.dumps(response.get_json()["view"])
    [update] = slack.calls_to("views.update")
    assert update.args["view_id"] == start["id"]
    fields = {b["block_id"]: b["element"] for b in update.args["view"]["blocks"] if b["type"] == "input"}
    assert "Restart the VPN client when it hangs." in fields["body"]["initial_value"]
    assert fields["area"]["initial_option"]["value"] == "it"
    assert fields["doc_type"]["initial_option"]["value"] == "procedure"


def test_the_thread_shortcut_drafts_from_the_whole_thread_with_its_authors(
    client: FlaskClient, slack: SlackStandin
) -> None:
    slack.add_thread_message("C111", "1700000000.000100", "How do I reset my badge PIN?", user=AUTHOR,
                             thread_ts="1700000000.000100")  # fmt: skip
    slack.add_thread_message("C111", "1700000000.000200", "Go to the security desk with your passport, "
                             "they reset it at <https://badges.example.com|the badge portal>", user=APPROVER,
                             thread_ts="1700000000.000100")  # fmt: skip
    slack.add_thread_message(
        "C111", "1700000000.000300", "thanks!", user=AUTHOR, thread_ts="1700000000.000100"
    )

    post(client, message_shortcut("kb_thread_to_doc", user=AUTHOR, channel="C111", ts="1700000000.000300",
                                  thread_ts="1700000000.000100"))  # fmt: skip

    [opened] = slack.calls_to("views.open")
    assert "Writing a first draft" in json.dumps(opened.args["view"])
    [replies] = slack.calls_to("conversations.replies")
    assert replies.args["ts"] == "1700000000.000100"
    [update] = slack.calls_to("views.update")
    body = next(b for b in update.args["view"]["blocks"] if b.get("block_id") == "body")
    text = body["element"]["initial_value"]
    assert "How do I reset my badge PIN? — Ana Lima" in text
    assert "**Ben Okafor:** Go to the security desk" in text and "https://badges.example.com" in text
    assert "thanks" not in text
    meta = json.loads(update.args["view"]["private_metadata"])
    assert meta["source_link"] == "https://workspace-domain.slack.com/archives/C111/p1700000000000100"


def test_a_thread_that_cannot_be_read_leaves_an_empty_editable_draft_saying_why(
    client: FlaskClient, slack: SlackStandin
) -> None:
    post(client, message_shortcut("kb_thread_to_doc", user=AUTHOR, channel="C404", ts="1700000000.000100"))

    [update] = slack.calls_to("views.update")
    assert "No draft could be written" in json.dumps(update.args["view"])
    assert any(b.get("block_id") == "body" for b in update.args["view"]["blocks"])


# --- submitting ----------------------------------------------------------------------------------------


def test_a_submitted_policy_asks_each_approver_and_tells_the_author_who_it_waits_for(
    client: FlaskClient, slack: SlackStandin
) -> None:
    response = submit_policy(client, slack)

    assert response.get_json() == {"response_action": "clear"}
    doc = only_document()
    assert (doc.status, doc.owner, doc.author) == ("in_review", "ana.lima@example.com", AUTHOR)
    for approver in (APPROVER, OTHER_APPROVER):
        request = slack.messages_to(approver)[-1]
        assert "VPN from home" in request.args["text"]
        assert "Open the VPN client" in json.dumps(request.args["blocks"])
    waiting = slack.calls_to("chat.postEphemeral")[-1].args["text"]
    assert f"<@{APPROVER}>" in waiting and f"<@{OTHER_APPROVER}>" in waiting


def test_a_policy_in_an_area_without_approvers_is_refused_on_the_area_field(
    client: FlaskClient, slack: SlackStandin
) -> None:
    response = submit_policy(client, slack, area="handbook")

    errors = response.get_json()["errors"]
    assert "`kb approvers set handbook USER…`" in errors["area"]
    assert build_document_workflow(load_settings()).documents() == []


def test_a_guideline_is_published_at_once_and_the_author_gets_the_link(
    client: FlaskClient, slack: SlackStandin
) -> None:
    submit_policy(client, slack, doc_type="guideline", area="handbook")

    doc = only_document()
    assert doc.status == "published"
    assert any(doc.page_url in call.args["text"] for call in slack.messages_to(AUTHOR))
    assert build_store(load_settings()).get_chunks(where={"page_id": doc.page_id})


# --- deciding ------------------------------------------------------------------------------------------


def test_approve_publishes_and_replaces_the_buttons_with_what_was_done(
    client: FlaskClient, slack: SlackStandin
) -> None:
    submit_policy(client, slack)
    buttons = decision_request(slack, APPROVER)

    click(client, slack, "kb_doc_approve", buttons["kb_doc_approve"], user=APPROVER)

    assert only_document().status == "published"
    assert "You approved version 1" in slack.responses[APPROVER][-1]["text"]
    told = [call.args["text"] for call in slack.messages_to(AUTHOR)]
    assert any("approved version 1" in t for t in told) and any("is published" in t for t in told)


def test_request_changes_asks_for_a_reason_in_a_modal_and_tells_the_author(
    client: FlaskClient, slack: SlackStandin
) -> None:
    submit_policy(client, slack)
    ask_for_changes(client, slack, APPROVER)
    modal = slack.last_opened_view()
    assert modal["callback_id"] == "kb_doc_decision"

    response = post(client, submitted_view(modal, {"reason": "Say which client version"}, user=APPROVER))

    assert response.get_json() == {"response_action": "clear"}
    assert only_document().status == "changes_requested"
    assert any("Say which client version" in c.args["text"] for c in slack.messages_to(AUTHOR))


def test_a_decision_without_a_reason_stays_in_its_modal(client: FlaskClient, slack: SlackStandin) -> None:
    submit_policy(client, slack)
    click(client, slack, "kb_doc_reject", decision_request(slack, APPROVER)["kb_doc_reject"], user=APPROVER)
    modal = slack.last_opened_view()

    response = post(client, submitted_view(modal, {"reason": ""}, user=APPROVER))

    assert "Say why" in response.get_json()["errors"]["reason"]
    assert only_document().status == "in_review"


def test_the_author_revises_and_the_approvers_get_the_new_version_with_what_changed(
    client: FlaskClient, slack: SlackStandin
) -> None:
    submit_policy(client, slack)
    first = decision_request(slack, OTHER_APPROVER)
    ask_for_changes(client, slack, APPROVER)
    post(client, submitted_view(slack.last_opened_view(), {"reason": "Add the URL"}, user=APPROVER))
    revise = next(
        b["value"]
        for call in slack.messages_to(AUTHOR)
        for block in call.args.get("blocks") or []
        if block["type"] == "actions"
        for b in block["elements"]
        if b["action_id"] == "kb_doc_revise_open"
    )
    click(client, slack, "kb_doc_revise_open", revise, user=AUTHOR)
    modal = slack.last_opened_view()

    post(client, submitted_view(modal, {"body": BODY + "3. The URL is https://vpn.example.com\n",
                                        "note": "Added the URL"}, user=AUTHOR))  # fmt: skip

    doc = only_document()
    assert (doc.status, doc.version) == ("in_review", 2)
    request = slack.messages_to(OTHER_APPROVER)[-1]
    assert "version 2" in request.args["text"] and "https://vpn.example.com" in json.dumps(
        request.args["blocks"]
    )

    click(client, slack, "kb_doc_approve", first["kb_doc_approve"], user=OTHER_APPROVER)

    assert "decision on version 1" in slack.responses[OTHER_APPROVER][-1]["text"]
    assert only_document().status == "in_review"


def test_someone_who_is_not_an_approver_is_told_and_nothing_changes(
    client: FlaskClient, slack: SlackStandin
) -> None:
    submit_policy(client, slack)

    click(client, slack, "kb_doc_approve", decision_request(slack, APPROVER)["kb_doc_approve"], user="UEVE")

    assert "not an approver of the it area" in slack.responses["UEVE"][-1]["text"]
    assert only_document().status == "in_review"
