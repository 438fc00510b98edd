"""Escalation to the knowledge admins, through functions-framework's real `slack_actions` app on a real Chroma
server, with Slack as the HTTP stand-in: three negative reports on one page within a day post one message
to KNOWLEDGE_ADMIN_CHANNEL, and its actions hide the page from answers (and bring it back), give it a new
owner, or dismiss it."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from functions_framework import create_app

from common.config import get_settings, load_settings
from common.confluence.folder_source import FolderPageSource
from common.runtime.search import build_retriever
from common.runtime.store import build_store
from common.search.filters import SearchFilters
from common.slack.escalation_blocks import ARCHIVE_ACTION, ASSIGN_ACTION, DISMISS_ACTION, RESTORE_ACTION
from common.slack.feedback_blocks import AnswerRef
from common.store.access import EVERYONE
from common.store.chunk import Chunk
from common.store.chunk_store import ChunkStore, StoredChunk
from tests.support.chroma_server import ChromaServer
from tests.support.paths import REPO_ROOT
from tests.support.runs import run_sync
from tests.support.sample_space import IT_SECTION, copy_sample_space
from tests.support.slack_payloads import button_click
from tests.support.slack_signing import form_body, sign
from tests.support.slack_standin import SlackStandin
from tests.support.spool import spooled_events

SECRET = "escalation-secret"
ADMINS = "CADMIN"
VPN_PAGE = "1101"
QUESTION = "How do I connect to the VPN from home?"


@pytest.fixture(scope="module")
def it_chunks(tmp_path_factory: pytest.TempPathFactory) -> list[StoredChunk]:
    root = tmp_path_factory.mktemp("escalation")
    settings = load_settings(kb_home=root / "kb-home")
    run_sync(settings, source=FolderPageSource(copy_sample_space(root / "it", only=IT_SECTION)))
    return build_store(settings).get_chunks(with_embeddings=True)


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin() as standin:
        standin.add_user("U0NEW", "new.owner@larkspur.example", "new-owner")
        standin.add_user("U0PRIYA", "priya.raman@larkspur.example", "priya")
        yield standin


@pytest.fixture
def store(
    monkeypatch: pytest.MonkeyPatch,
    chroma_server: ChromaServer,
    slack: SlackStandin,
    it_chunks: list[StoredChunk],
) -> ChunkStore:
    env = {
        "CHROMA_URL": chroma_server.url,
        "CHROMA_COLLECTION": f"escalation-{uuid.uuid4().hex[:10]}",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack.api_url,
        "KNOWLEDGE_ADMIN_CHANNEL": ADMINS,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    loaded = build_store(get_settings())
    loaded.upsert([Chunk(c.id, c.text, c.metadata, c.embedding) for c in it_chunks])
    return loaded


@pytest.fixture
def client() -> FlaskClient:
    return create_app(target="slack_actions", source=str(REPO_ROOT / "functions" / "main.py")).test_client()


def _post(client: FlaskClient, payload: dict[str, Any]) -> int:
    body = form_body(payload)
    response = client.post(
        "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)},
    )
    sys.modules["main"]._interactions().drain()
    return response.status_code


def _vote(client: FlaskClient, slack: SlackStandin, store: ChunkStore, *, user: str, kind: str) -> None:
    ids = sorted(store.get_metadata(where={"page_id": VPN_PAGE}))[:2]
    ref = AnswerRef(answer_id=f"A-{user}", question=QUESTION, cited=tuple((cid, VPN_PAGE) for cid in ids))
    payload = button_click(
        f"kb_vote_{kind}",
        ref.to_value(),
        user=user,
        response_url=slack.response_url(user),
        message_blocks=None,
    )
    assert _post(client, payload) == 200


def _admin_action(
    slack: SlackStandin, action_id: str, *, channel: str = ADMINS, **action: Any
) -> dict[str, Any]:
    payload = button_click(
        action_id,
        action.pop("value", VPN_PAGE),
        user="UADMIN",
        response_url=slack.response_url("admin"),
        message_blocks=None,
    )
    payload["channel"]["id"] = channel
    payload["actions"][0].update(block_id=f"kb_escalation:{VPN_PAGE}", **action)
    return payload


def _escalated(client: FlaskClient, slack: SlackStandin, store: ChunkStore) -> None:
    for user in ("U1", "U2", "U3"):
        _vote(client, slack, store, user=user, kind="not_helpful")


def _cited_pages(store: ChunkStore) -> set[str]:
    retriever = build_retriever(get_settings(), store)
    results = retriever.search(QUESTION, top_k=10, filters=SearchFilters(), reader=EVERYONE)
    return {r.page_id for r in results}


def test_three_negative_reports_within_a_day_post_one_escalation_with_actions(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    _vote(client, slack, store, user="U1", kind="not_helpful")
    _vote(client, slack, store, user="U2", kind="incorrect")
    assert slack.messages_to(ADMINS) == []

    _vote(client, slack, store, user="U3", kind="outdated")
    _vote(client, slack, store, user="U4", kind="not_helpful")

    [message] = slack.messages_to(ADMINS)
    blocks = json.dumps(message.args["blocks"])
    assert "VPN Setup" in blocks and "3 negative reports in the last 24 hours" in blocks
    for action in ("kb_mark_reviewed", ASSIGN_ACTION, ARCHIVE_ACTION, DISMISS_ACTION):
        assert action in blocks
    assert [e["action"] for e in spooled_events_of(store) if e["kind"] == "page_escalation"] == ["posted"]


def spooled_events_of(store: ChunkStore) -> list[dict[str, Any]]:
    return spooled_events(get_settings().kb_home)


def test_one_person_clicking_again_is_still_one_report(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    for _ in range(3):
        _vote(client, slack, store, user="U1", kind="not_helpful")

    assert slack.messages_to(ADMINS) == []


def test_helpful_votes_never_escalate(client: FlaskClient, store: ChunkStore, slack: SlackStandin) -> None:
    for user in ("U1", "U2", "U3"):
        _vote(client, slack, store, user=user, kind="helpful")

    assert slack.messages_to(ADMINS) == []


def test_hiding_the_page_keeps_it_out_of_every_answer_until_it_is_restored(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    _escalated(client, slack, store)
    assert VPN_PAGE in _cited_pages(store)

    assert _post(client, _admin_action(slack, ARCHIVE_ACTION)) == 200

    assert VPN_PAGE not in _cited_pages(store)
    [reply] = slack.wait_for_response("admin")
    assert "hidden from answers by <@UADMIN>" in reply["text"] and RESTORE_ACTION in json.dumps(
        reply["blocks"]
    )

    assert _post(client, _admin_action(slack, RESTORE_ACTION)) == 200

    assert VPN_PAGE in _cited_pages(store)


def test_assigning_a_new_owner_from_the_user_picker_changes_the_pages_owner(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    _escalated(client, slack, store)

    payload = _admin_action(slack, ASSIGN_ACTION, value=None, type="users_select", selected_user="U0NEW")
    assert _post(client, payload) == 200

    owners = {meta.owner for meta in store.get_metadata(where={"page_id": VPN_PAGE}).values()}
    assert owners == {"new.owner@larkspur.example"}
    assert "now owned by new.owner@larkspur.example" in slack.wait_for_response("admin")[0]["text"]


def test_dismissing_changes_nothing_but_the_message(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    _escalated(client, slack, store)

    assert _post(client, _admin_action(slack, DISMISS_ACTION)) == 200

    assert "dismissed by <@UADMIN>" in slack.wait_for_response("admin")[0]["text"]
    assert VPN_PAGE in _cited_pages(store)


def test_escalation_actions_from_outside_the_admin_channel_are_refused(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    assert _post(client, _admin_action(slack, ARCHIVE_ACTION, channel="C111")) == 400

    assert VPN_PAGE in _cited_pages(store)


def test_an_owner_slack_cannot_find_is_escalated_once_instead_of_only_logged(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    store.batch_update_metadata(
        {cid: {"owner": "gone@larkspur.example"} for cid in store.get_metadata(where={"page_id": VPN_PAGE})}
    )

    _vote(client, slack, store, user="U1", kind="incorrect")
    _vote(client, slack, store, user="U2", kind="outdated")

    [message] = slack.messages_to(ADMINS)
    blocks = json.dumps(message.args["blocks"])
    assert "owner cannot be reached" in blocks and "gone@larkspur.example" in blocks
