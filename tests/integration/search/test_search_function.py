"""The `search` function target through functions-framework's real app, over the synced sample space."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from functions_framework import create_app
from werkzeug.test import TestResponse

from common.config import get_settings, load_settings
from common.confluence.folder_source import FolderPageSource
from tests.support.chroma_server import free_port
from tests.support.paths import REPO_ROOT
from tests.support.runs import run_sync
from tests.support.sample_space import IT_SECTION, copy_sample_space
from tests.support.spool import spooled_events


@pytest.fixture(scope="module")
def synced_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("search-fn")
    home = root / "kb-home"
    run_sync(
        load_settings(kb_home=home),
        source=FolderPageSource(copy_sample_space(root / "it", only=(*IT_SECTION, "1300", "1313"))),
    )
    return home


@pytest.fixture
def client(synced_home: Path, kb_home: Path) -> Iterator[FlaskClient]:
    shutil.copytree(synced_home, kb_home)
    # functions-framework loads functions/main.py anew (as module `main`) per app: fresh per-process caches.
    app = create_app(target="search", source=str(REPO_ROOT / "functions" / "main.py"))
    yield app.test_client()


def test_healthz_answers_without_touching_the_store(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHROMA_URL", f"http://127.0.0.1:{free_port()}")

    response = client.get("/healthz")

    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_a_question_gets_cited_results(client: FlaskClient) -> None:
    response = client.post("/", json={"query": "How do I connect to the VPN from home?", "top_k": 3})

    assert response.status_code == 200
    results = response.json["results"]  # type: ignore[index]
    assert len(results) == 3
    first = results[0]
    assert {
        "chunk_id",
        "page_title",
        "url",
        "space_key",
        "text",
        "parent_headers",
        "chunk_type",
        "scores",
    } <= set(first)


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b"{}", "query"),
        (b'{"query": "   "}', "query"),
        (b'{"query": "' + b"x" * 2001 + b'"}', "query"),
        (b'{"query": "vpn", "top_k": 0}', "top_k"),
        (b'{"query": "vpn", "top_k": "ten"}', "top_k"),
        (b'{"query": "vpn", "filters": {"colour": "red"}}', "colour"),
        (b'{"query": "vpn", "filters": {"spaces": 7}}', "spaces"),
        (b'{"query": "vpn", "sort": "date"}', "sort"),
    ],
)
def test_bad_input_gets_a_400_that_says_what_is_wrong(
    client: FlaskClient, body: bytes, mentions: str
) -> None:
    response = client.post("/", data=body, content_type="application/json")

    assert response.status_code == 400
    assert mentions in response.json["error"]["message"]  # type: ignore[index]


def test_a_configured_key_is_required(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCH_API_KEY", "s3cret")
    get_settings.cache_clear()

    refused = client.post("/", json={"query": "vpn"}, headers={"Authorization": "Bearer wrong"})
    allowed = client.post("/", json={"query": "vpn"}, headers={"Authorization": "Bearer s3cret"})

    assert (refused.status_code, allowed.status_code) == (401, 200)


def test_chroma_down_gets_a_503_with_a_retry_hint_and_no_trace(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHROMA_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("CHROMA_RETRIES", "0")
    get_settings.cache_clear()

    response = client.post("/", json={"query": "vpn"})

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "Traceback" not in response.get_data(as_text=True)


def test_every_result_shown_is_recorded_as_an_access(client: FlaskClient, kb_home: Path) -> None:
    response = client.post("/", json={"query": "printer on the third floor", "top_k": 2})

    query_id = response.json["query_id"]  # type: ignore[index]
    events = spooled_events(kb_home)
    shown = {cid for result in response.json["results"] for cid in result["chunk_ids"]}  # type: ignore[index]
    assert {e["chunk_id"] for e in events if e["query_id"] == query_id} == shown


POSTMORTEM_QUERY = {"query": "Which customers did the duplicate payment run affect?", "top_k": 5}


def _pages(response: TestResponse) -> set[str]:
    return {r["page_id"] for r in response.json["results"]}  # type: ignore[index]


def test_without_as_user_a_search_finds_only_what_everyone_may_read(client: FlaskClient) -> None:
    response = client.post("/", json=POSTMORTEM_QUERY)

    assert response.status_code == 200 and "1313" not in _pages(response)


def test_as_user_needs_the_as_user_key(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCH_API_KEY", "plain-key")
    monkeypatch.setenv("SEARCH_AS_USER_API_KEY", "trusted-key")
    get_settings.cache_clear()
    body = {**POSTMORTEM_QUERY, "as_user": "tom.okafor@larkspur.example"}

    with_plain_key = client.post("/", json=body, headers={"Authorization": "Bearer plain-key"})
    with_trusted_key = client.post("/", json=body, headers={"Authorization": "Bearer trusted-key"})

    assert with_plain_key.status_code == 403 and "SEARCH_AS_USER_API_KEY" in with_plain_key.get_data(
        as_text=True
    )
    assert with_trusted_key.status_code == 200 and "1313" in _pages(with_trusted_key)


def test_as_user_is_refused_when_no_caller_is_trusted_with_it(client: FlaskClient) -> None:
    response = client.post("/", json={**POSTMORTEM_QUERY, "as_user": "tom.okafor@larkspur.example"})

    assert response.status_code == 403


def test_as_user_finds_only_what_that_person_may_read(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEARCH_AS_USER_API_KEY", "trusted-key")
    get_settings.cache_clear()
    headers = {"Authorization": "Bearer trusted-key"}

    engineer = client.post("/", json={**POSTMORTEM_QUERY, "as_user": "557058:tom"}, headers=headers)
    outsider = client.post(
        "/", json={**POSTMORTEM_QUERY, "as_user": "liam.doyle@larkspur.example"}, headers=headers
    )

    assert "1313" in _pages(engineer) and "1313" not in _pages(outsider)
    assert outsider.json["access"] == {"status": "personal", "note": ""}  # type: ignore[index]


def test_as_user_with_an_unknown_email_says_why_only_open_pages_were_searched(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEARCH_AS_USER_API_KEY", "trusted-key")
    get_settings.cache_clear()

    response = client.post(
        "/",
        json={**POSTMORTEM_QUERY, "as_user": "guest@elsewhere.example"},
        headers={"Authorization": "Bearer trusted-key"},
    )

    assert response.json["access"]["status"] == "unlinked"  # type: ignore[index]
    assert "1313" not in _pages(response)
