"""The `slack_actions` target through functions-framework's real app: signed Slack payloads shaped like
`../shared/fixtures/slack/`, a real Chroma server, and a Slack Web API stand-in."""

from __future__ import annotations

import copy
import json
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from functions_framework import create_app
from werkzeug.test import TestResponse

from common.config import get_settings, load_settings
from common.confluence.folder_source import FolderPageSource
from common.permissions.links import LinkStore, UserConfluenceLink
from common.runtime.infra import build_versioned_files
from common.runtime.search import build_retriever
from common.runtime.store import build_store
from common.search.filters import SearchFilters
from common.search.retriever import SearchResult
from common.slack.feedback_blocks import AnswerRef, feedback_actions
from common.store.access import EVERYONE
from common.store.chunk import Chunk
from common.store.chunk_store import ChunkStore, StoredChunk
from common.store.votes import VoteStore
from tests.support.chroma_server import ChromaServer, free_port
from tests.support.paths import REPO_ROOT
from tests.support.runs import run_sync
from tests.support.sample_space import IT_SECTION, copy_sample_space
from tests.support.slack_payloads import SLACK_FIXTURES as FIXTURES
from tests.support.slack_payloads import slash_command
from tests.support.slack_signing import form_body, sign
from tests.support.slack_standin import SlackStandin
from tests.support.spool import spooled_events

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
OWNER_EMAIL = "priya.raman@larkspur.example"
OWNER_SLACK_ID = "U0PRIYA"
VPN_PAGE = "1101"
QUESTION = "How do I connect to the VPN from home?"
EVERYTHING = SearchFilters(max_classification="confidential")


@pytest.fixture(scope="module")
def it_chunks(tmp_path_factory: pytest.TempPathFactory) -> list[StoredChunk]:
    """The IT section synced once; each test loads these chunks into its own collection on the server."""
    root = tmp_path_factory.mktemp("slack-actions")
    settings = load_settings(kb_home=root / "kb-home")
    run_sync(settings, source=FolderPageSource(copy_sample_space(root / "it", only=IT_SECTION)))
    return build_store(settings).get_chunks(with_embeddings=True)


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin() as standin:
        standin.add_user(OWNER_SLACK_ID, OWNER_EMAIL, "priya")
        standin.add_user("W111", "someone@larkspur.example", "primary-owner")
        yield standin


def _configure(monkeypatch: pytest.MonkeyPatch, chroma_url: str, slack: SlackStandin, **extra: str) -> None:
    env = {
        "CHROMA_URL": chroma_url,
        "CHROMA_COLLECTION": f"actions-{uuid.uuid4().hex[:10]}",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack.api_url,
        **extra,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def _load(chunks: list[StoredChunk]) -> ChunkStore:
    store = build_store(get_settings())
    store.upsert([Chunk(c.id, c.text, c.metadata, c.embedding) for c in chunks])
    return store


@pytest.fixture
def client() -> FlaskClient:
    """A fresh app; functions-framework loads functions/main.py anew as module `main` each time."""
    return create_app(target="slack_actions", source=str(REPO_ROOT / "functions" / "main.py")).test_client()


def _app_module() -> Any:
    return sys.modules["main"]


@pytest.fixture
def store(
    monkeypatch: pytest.MonkeyPatch,
    chroma_server: ChromaServer,
    slack: SlackStandin,
    it_chunks: list[StoredChunk],
) -> ChunkStore:
    _configure(monkeypatch, chroma_server.url, slack)
    return _load(it_chunks)


# --- payloads, shaped like the fixtures ---------------------------------------------------------------


def _fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def _answer(store: ChunkStore, *, page_id: str = VPN_PAGE, chunks: int = 2) -> AnswerRef:
    ids = sorted(store.get_metadata(where={"page_id": page_id}))[:chunks]
    return AnswerRef(
        answer_id=uuid.uuid4().hex, question=QUESTION, cited=tuple((cid, page_id) for cid in ids)
    )


def _click(
    slack: SlackStandin,
    action_id: str,
    value: str,
    *,
    user: str = "W111",
    reply_to: str = "default",
    message_blocks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    payload = _fixture("bolt-python__block_actions__button.json")
    payload["user"]["id"] = user
    payload["response_url"] = slack.response_url(reply_to)
    payload["actions"][0].update(action_id=action_id, value=value, block_id="kb_feedback")
    if message_blocks is not None:
        payload["message"] = {"type": "message", "ts": "111.222", "text": "answer", "blocks": message_blocks}
    return payload


def _report(ref: AnswerRef, kind: str, *, user: str = "W111", correction: str = "") -> dict[str, Any]:
    payload = _fixture("bolt-python__view_submission.json")
    payload["user"]["id"] = user
    view = payload["view"]
    view["callback_id"] = "kb_problem_modal"
    view["private_metadata"] = json.dumps({"ref": ref.to_value(), "channel": "C111"})
    view["state"] = {
        "values": {
            "kind": {"kind_choice": {"type": "radio_buttons", "selected_option": {"value": kind}}},
            "correction": {"correction_text": {"type": "plain_text_input", "value": correction or None}},
        }
    }
    return payload


def _post(
    client: FlaskClient,
    payload: dict[str, Any] | bytes,
    *,
    timestamp: int | None = None,
    secret: str = SECRET,
) -> TestResponse:
    body = payload if isinstance(payload, bytes) else form_body(payload)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **sign(body, secret=secret, timestamp=timestamp),
    }
    response = client.post("/", data=body, headers=headers)
    _app_module()._interactions().drain()
    return response


def _meta(store: ChunkStore, chunk_id: str) -> Any:
    return store.get_metadata(ids=[chunk_id])[chunk_id]


# --- votes --------------------------------------------------------------------------------------------


def test_a_helpful_click_raises_every_cited_chunk_at_once(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    ref = _answer(store)

    response = _post(client, _click(slack, "kb_vote_helpful", ref.to_value()))

    assert response.status_code == 200
    for chunk_id, _ in ref.cited:
        meta = _meta(store, chunk_id)
        assert meta.quality_score > 50.0 and meta.feedback_count == 1


def _near_tie(results: list[SearchResult], ratio: float) -> int:
    """The first rank whose successor scores within `ratio` of it: a quality signal can swap those two."""
    return next(
        i for i in range(len(results) - 1) if results[i + 1].scores.final > ratio * results[i].scores.final
    )


def test_reports_of_an_incorrect_answer_push_it_down_the_next_search(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    retriever = build_retriever(get_settings(), store)
    before = retriever.search(QUESTION, top_k=10, filters=EVERYTHING, reader=EVERYONE)
    rank = _near_tie(before, ratio=0.8)
    target, follower = before[rank], before[rank + 1]
    ref = AnswerRef(answer_id="A-wrong", question=QUESTION, cited=((target.chunk_id, target.page_id),))

    for user in ("U1", "U2", "U3"):
        assert _post(client, _report(ref, "incorrect", user=user)).status_code == 200

    after = [r.chunk_id for r in retriever.search(QUESTION, top_k=10, filters=EVERYTHING, reader=EVERYONE)]
    assert target.chunk_id not in after or after.index(target.chunk_id) > after.index(follower.chunk_id)


def test_helpful_votes_lift_a_passage_in_the_next_search(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    retriever = build_retriever(get_settings(), store)
    before = retriever.search(QUESTION, top_k=10, filters=EVERYTHING, reader=EVERYONE)
    rank = _near_tie(before, ratio=0.9)
    leader, target = before[rank], before[rank + 1]
    ref = AnswerRef(answer_id="A-good", question=QUESTION, cited=((target.chunk_id, target.page_id),))

    for user in ("U1", "U2", "U3", "U4", "U5"):
        _post(client, _click(slack, "kb_vote_helpful", ref.to_value(), user=user))

    after = [r.chunk_id for r in retriever.search(QUESTION, top_k=10, filters=EVERYTHING, reader=EVERYONE)]
    assert after.index(target.chunk_id) < after.index(leader.chunk_id)


def test_a_double_click_counts_once(client: FlaskClient, store: ChunkStore, slack: SlackStandin) -> None:
    ref = _answer(store, chunks=1)
    payload = _click(slack, "kb_vote_not_helpful", ref.to_value())

    _post(client, payload)
    _post(client, copy.deepcopy(payload))

    meta = _meta(store, ref.cited[0][0])
    assert meta.feedback_count == 1
    assert meta.quality_score == 50.0 - get_settings().quality_vote_not_helpful


def test_the_buttons_are_replaced_by_a_thank_you(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    ref = _answer(store)
    answer_blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Use GlobalProtect."}},
        feedback_actions(ref),
    ]

    _post(client, _click(slack, "kb_vote_helpful", ref.to_value(), message_blocks=answer_blocks))

    [reply] = slack.responses["default"]
    assert reply["replace_original"] is True
    assert [b.get("block_id") for b in reply["blocks"]].count("kb_feedback") == 0
    assert "Thanks" in reply["blocks"][-1]["elements"][0]["text"]


# --- refused requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "age_seconds"), [("not-the-secret", 0), (SECRET, 301)], ids=["forged", "stale"]
)
def test_a_forged_or_stale_signature_is_refused_and_changes_nothing(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin, secret: str, age_seconds: int
) -> None:
    ref = _answer(store, chunks=1)

    response = _post(
        client,
        _click(slack, "kb_vote_helpful", ref.to_value()),
        secret=secret,
        timestamp=int(time.time()) - age_seconds,
    )

    assert response.status_code == 401
    assert _meta(store, ref.cited[0][0]).feedback_count == 0
    assert VoteStore(store).for_chunks([ref.cited[0][0]]) == {ref.cited[0][0]: []}
    assert slack.responses == {}


def test_an_unsigned_request_is_refused(client: FlaskClient, store: ChunkStore, slack: SlackStandin) -> None:
    body = form_body(_click(slack, "kb_vote_helpful", _answer(store).to_value()))

    response = client.post("/", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert response.status_code == 401
    assert "signature" in response.get_json()["error"]


def test_a_signed_body_that_is_not_a_slack_payload_gets_a_400_saying_so(
    client: FlaskClient, store: ChunkStore
) -> None:
    response = _post(client, b"payload=%7Bnot-json")

    assert response.status_code == 400
    assert "payload" in response.get_json()["error"]


def test_an_unknown_button_gets_a_400_naming_it(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    response = _post(client, _click(slack, "kb_launch_rocket", "x"))

    assert response.status_code == 400
    assert "kb_launch_rocket" in response.get_json()["error"]


# --- the problem modal and owners ---------------------------------------------------------------------


def test_report_a_problem_opens_the_details_modal(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    _post(client, _click(slack, "kb_report_problem", _answer(store).to_value()))

    [opened] = slack.calls_to("views.open")
    assert opened.args["view"]["callback_id"] == "kb_problem_modal"
    assert opened.args["trigger_id"] == "111.222.valid"


def test_an_outdated_report_dms_the_owner_with_a_review_button(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    ref = _answer(store)

    _post(client, _report(ref, "outdated", correction="The portal moved to vpn2.larkspur.example"))

    [dm] = slack.messages_to(OWNER_SLACK_ID)
    text = json.dumps(dm.args["blocks"])
    assert QUESTION in text and "vpn2.larkspur.example" in text and "kb_mark_reviewed" in text
    [thanks] = slack.calls_to("chat.postEphemeral")
    assert thanks.args["user"] == "W111"


def test_an_owner_gets_one_message_per_page_per_day_updated_as_reports_arrive(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    _post(client, _report(_answer(store), "outdated", user="U1"))
    _post(client, _report(_answer(store), "incorrect", user="U2"))

    assert len(slack.messages_to(OWNER_SLACK_ID)) == 1
    [update] = slack.calls_to("chat.update")
    assert "2 problems" in json.dumps(update.args["blocks"])


def test_an_owner_missing_from_slack_is_reported_not_ignored(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin, kb_home: Path
) -> None:
    tom_page = "1104"

    _post(client, _report(_answer(store, page_id=tom_page), "incorrect"))

    assert slack.calls_to("chat.postMessage") == []
    events = spooled_events(kb_home)
    [unreachable] = [e for e in events if e["kind"] == "owner_unreachable"]
    assert unreachable["page_id"] == tom_page


def test_the_owner_marks_the_page_reviewed_from_slack(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    response = _post(client, _click(slack, "kb_mark_reviewed", VPN_PAGE, user=OWNER_SLACK_ID))

    assert response.status_code == 200
    metas = store.get_metadata(where={"page_id": VPN_PAGE}).values()
    assert {m.reviewed_by for m in metas} == {OWNER_EMAIL}
    assert all(m.reviewed_at is not None for m in metas)
    assert "reviewed" in slack.responses["default"][0]["text"]


# --- failures: nothing is lost ------------------------------------------------------------------------


def test_a_vote_while_chroma_is_down_is_kept_and_counted_when_it_is_back(
    client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    slack: SlackStandin,
    it_chunks: list[StoredChunk],
    tmp_path: Path,
) -> None:
    server = ChromaServer(tmp_path / "chroma").start()
    try:
        _configure(monkeypatch, server.url, slack, CHROMA_BREAKER_RESET_SECONDS="0.001", CHROMA_RETRIES="0")
        store = _load(it_chunks)
        ref = _answer(store, chunks=1)
        server.stop()

        response = _post(client, _click(slack, "kb_vote_helpful", ref.to_value(), user="U1", reply_to="down"))

        assert response.status_code == 200
        assert "saved" in slack.responses["down"][0]["text"]
        server.start()
        _post(client, _click(slack, "kb_vote_helpful", ref.to_value(), user="U2", reply_to="up"))
        assert _meta(store, ref.cited[0][0]).feedback_count == 2
    finally:
        server.stop()


def test_a_review_while_chroma_is_down_is_kept_and_applied_when_it_is_back(
    client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    slack: SlackStandin,
    it_chunks: list[StoredChunk],
    tmp_path: Path,
) -> None:
    server = ChromaServer(tmp_path / "chroma").start()
    try:
        _configure(monkeypatch, server.url, slack, CHROMA_BREAKER_RESET_SECONDS="0.001", CHROMA_RETRIES="0")
        store = _load(it_chunks)
        ref = _answer(store, chunks=1)
        server.stop()

        response = _post(
            client, _click(slack, "kb_mark_reviewed", VPN_PAGE, user=OWNER_SLACK_ID, reply_to="down")
        )

        assert response.status_code == 200
        assert "saved" in slack.responses["down"][0]["text"]
        server.start()
        _post(client, _click(slack, "kb_vote_helpful", ref.to_value(), user="U2", reply_to="up"))
        metas = store.get_metadata(where={"page_id": VPN_PAGE}).values()
        assert {m.reviewed_by for m in metas} == {OWNER_EMAIL}
    finally:
        server.stop()


def test_a_vote_counts_even_when_its_event_cannot_be_published_yet(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin, kb_home: Path
) -> None:
    (kb_home / "spool").parent.mkdir(parents=True, exist_ok=True)
    (kb_home / "spool").write_text("a file where the spool folder should be")
    ref = _answer(store, chunks=1)

    _post(client, _click(slack, "kb_vote_helpful", ref.to_value(), user="U1"))

    assert _meta(store, ref.cited[0][0]).feedback_count == 1
    (kb_home / "spool").unlink()
    _post(client, _click(slack, "kb_vote_helpful", ref.to_value(), user="U2"))
    events = spooled_events(kb_home)
    assert sorted(e["user_id"] for e in events if e["kind"] == "user_feedback") == ["U1", "U2"]


# --- quick knowledge ----------------------------------------------------------------------------------


def test_the_kb_add_command_opens_the_save_modal_with_its_text(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    body = urlencode(
        {
            "command": "/kb-add",
            "text": "Printer 4 jams: use tray 2",
            "trigger_id": "t.1",
            "channel_id": "C111",
            "user_id": "W111",
        }
    ).encode()

    _post(client, body)

    [opened] = slack.calls_to("views.open")
    assert opened.args["view"]["callback_id"] == "kb_quick_knowledge"
    assert "Printer 4 jams" in json.dumps(opened.args["view"])


def test_saving_a_message_writes_searchable_chunks_owned_by_its_author(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    payload = _fixture("bolt-python__view_submission.json")
    payload["view"]["callback_id"] = "kb_quick_knowledge"
    payload["view"]["private_metadata"] = json.dumps(
        {"link": "https://workspace-domain.slack.com/archives/C111/p1700000000000100", "channel": "C111"}
    )
    payload["view"]["state"] = {
        "values": {
            "title": {"value": {"type": "plain_text_input", "value": "Printer 4 on floor 2"}},
            "text": {
                "value": {
                    "type": "plain_text_input",
                    "value": "When printer 4 jams, use tray 2 and call 4357.",
                }
            },
            "space": {"value": {"type": "plain_text_input", "value": "it"}},
            "topics": {"value": {"type": "plain_text_input", "value": "printers, office"}},
            "classification": {"value": {"type": "static_select", "selected_option": {"value": "internal"}}},
        }
    }

    response = _post(client, payload)

    assert response.status_code == 200
    saved = store.get_chunks(where={"source": "slack"})
    assert saved and "tray 2" in saved[0].text
    meta = saved[0].metadata
    assert (meta.owner, meta.space_key, meta.classification) == ("someone@larkspur.example", "IT", "internal")
    assert meta.url.startswith("https://workspace-domain.slack.com/archives/C111/")
    assert "searchable now" in slack.calls_to("chat.postEphemeral")[-1].args["text"]
    results = build_retriever(get_settings(), store).search(
        "printer 4 jams", top_k=3, filters=EVERYTHING, reader=EVERYONE
    )
    assert results[0].page_id == saved[0].metadata.page_id


def test_a_save_without_a_title_is_sent_back_to_the_modal(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    payload = _fixture("bolt-python__view_submission.json")
    payload["view"]["callback_id"] = "kb_quick_knowledge"
    payload["view"]["private_metadata"] = json.dumps({"link": "", "channel": "C111"})
    payload["view"]["state"] = {
        "values": {"text": {"value": {"type": "plain_text_input", "value": "Some text"}}}
    }

    response = _post(client, payload)

    assert response.get_json()["response_action"] == "errors"
    assert set(response.get_json()["errors"]) == {"title", "space"}


def test_the_save_to_knowledge_base_shortcut_opens_the_modal_linking_the_message(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    payload = {
        "type": "message_action",
        "callback_id": "kb_save_message",
        "trigger_id": "111.222.valid",
        "user": {"id": "W111", "name": "primary-owner"},
        "team": {"id": "T111", "domain": "workspace-domain"},
        "channel": {"id": "C111", "name": "test-channel"},
        "message": {
            "type": "message",
            "user": "W222",
            "ts": "1700000000.000100",
            "text": "Tray 2 fixes printer 4.",
        },
        "response_url": slack.response_url(),
    }

    _post(client, payload)

    [opened] = slack.calls_to("views.open")
    assert "Tray 2 fixes printer 4." in json.dumps(opened.args["view"])
    assert (
        "workspace-domain.slack.com/archives/C111/p1700000000000100"
        in opened.args["view"]["private_metadata"]
    )


# --- Confluence links ---------------------------------------------------------------------------------


def test_kb_unlink_removes_the_link_and_says_so_to_the_person_alone(
    client: FlaskClient, store: ChunkStore
) -> None:
    when = "2026-12-01T09:00:00+00:00"
    links = LinkStore(build_versioned_files(get_settings(), "identity"))
    links.save(
        UserConfluenceLink.model_validate(
            {
                "slack_user_id": "W111",
                "account_id": "557058:tom",
                "method": "email",
                "linked_at": when,
                "last_used_at": when,
            }
        )
    )
    body = urlencode({"command": "/kb-unlink", "text": "", "channel_id": "D111", "user_id": "W111"}).encode()

    response = _post(client, body)

    assert response.status_code == 200 and response.json["response_type"] == "ephemeral"  # type: ignore[index]
    assert "unlinked" in response.json["text"] and links.get("W111") is None  # type: ignore[index]
    assert links.opted_out("W111")


def test_a_click_on_the_link_button_is_acknowledged(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    response = _post(client, _click(slack, "kb_link_oauth", "", user="W111"))

    assert response.status_code == 200


# --- /kb: answers only the asker sees ------------------------------------------------------------------


def _slash(client: FlaskClient, slack: SlackStandin, text: str, *, user: str = "W111") -> TestResponse:
    body = slash_command("/kb", text, user=user, response_url=slack.response_url("kb"))
    return _post(client, body)


def test_kb_with_a_question_acknowledges_at_once_and_answers_privately_with_sources(
    client: FlaskClient, store: ChunkStore, slack: SlackStandin
) -> None:
    response = _slash(client, slack, QUESTION)

    assert response.status_code == 200 and response.get_json()["response_type"] == "ephemeral"
    [answer] = slack.wait_for_response("kb")
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert "vpn.larkspur.example" in answer["text"]
    assert "kb_vote_helpful" in json.dumps(answer["blocks"])
    assert slack.calls_to("chat.postMessage") == []  # nothing in the channel


def test_kb_help_lists_what_the_bot_does(client: FlaskClient, store: ChunkStore, slack: SlackStandin) -> None:
    for text in ("help", ""):
        reply = _slash(client, slack, text).get_json()

        assert reply["response_type"] == "ephemeral" and "/kb-add" in reply["text"] and "/kb" in reply["text"]


def test_kb_when_the_knowledge_base_is_down_apologises_to_the_asker(
    client: FlaskClient, slack: SlackStandin, monkeypatch: pytest.MonkeyPatch, it_chunks: list[StoredChunk]
) -> None:
    _configure(monkeypatch, f"http://127.0.0.1:{free_port()}", slack, CHROMA_RETRIES="0")

    assert _slash(client, slack, QUESTION).status_code == 200

    [reply] = slack.wait_for_response("kb")
    assert "couldn't answer that just now" in reply["text"]
