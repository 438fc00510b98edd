"""`kb serve` under concurrent load on a fresh embedded store: 8 threads mixing searches, signed Slack
questions and signed votes, as the first requests of the process. Nothing may fail: no 5xx, every question
answered (no apology), every vote counted.

It runs five rounds, each on a fresh KB_HOME, because the race it guards against (two threads making the
first Chroma client of a path at once) only exists in the first moments of a store's life in a process.
"""

from __future__ import annotations

import json
import random
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from werkzeug.serving import make_server

from common.cli.serve import create_local_app
from common.config import get_settings, load_settings
from common.confluence.folder_source import FolderPageSource
from common.runtime.store import build_store
from common.slack.answering import SORRY
from common.slack.feedback_blocks import AnswerRef
from tests.support.chroma_server import free_port
from tests.support.runs import run_sync
from tests.support.sample_space import IT_SECTION, copy_sample_space
from tests.support.slack_payloads import SLACK_FIXTURES
from tests.support.slack_signing import form_body, sign
from tests.support.slack_standin import SlackStandin

SECRET = "serve-load-secret"
REQUESTS = 200
THREADS = 8
VPN_PAGE = "1101"
SEARCHES = ["VPN portal address", "reset my password", "printer on the third floor", "request software"]
QUESTIONS = ["How do I connect to the VPN from home?", "How do I reset MFA?", "Which laptop do I get?"]


@pytest.fixture(scope="module")
def synced_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serve-load")
    home = root / "kb-home"
    source = FolderPageSource(copy_sample_space(root / "it", only=IT_SECTION))
    run_sync(load_settings(kb_home=home), source=source)
    return home


@pytest.fixture(scope="module")
def voted_chunks(synced_home: Path) -> list[str]:
    """Read from the synced original, so no client of the copy under test is made before the requests."""
    store = build_store(load_settings(kb_home=synced_home))
    return sorted(store.get_metadata(where={"page_id": VPN_PAGE}))[:3]


@pytest.fixture
def served(
    synced_home: Path, kb_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, SlackStandin, Any]]:
    """A copy of the synced store no client of this process has opened yet, served on a real port."""
    shutil.copytree(synced_home, kb_home)
    with SlackStandin() as slack:
        for name, value in {
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_API_URL": slack.api_url,
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        app, queue = create_local_app(get_settings())
        server = make_server("127.0.0.1", free_port(), app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}", slack, queue
        finally:
            server.shutdown()
            thread.join()


def _question(number: int) -> tuple[bytes, dict[str, str]]:
    payload = json.loads((SLACK_FIXTURES / "bolt-python__event_callback__app_mention.json").read_text())
    payload["event_id"] = f"EvLoad{number}"
    payload["event"].update(
        text=f"<@W111> {QUESTIONS[number % len(QUESTIONS)]}", ts=f"1700000{number}.000100"
    )
    body = json.dumps(payload).encode()
    return body, {"Content-Type": "application/json", **sign(body, secret=SECRET)}


def _vote(number: int, ref: AnswerRef, response_url: str) -> tuple[bytes, dict[str, str]]:
    payload = json.loads((SLACK_FIXTURES / "bolt-python__block_actions__button.json").read_text())
    payload["user"]["id"] = f"ULOAD{number}"
    payload["response_url"] = response_url
    payload["actions"][0].update(action_id="kb_vote_helpful", value=ref.to_value(), block_id="kb_feedback")
    body = form_body(payload)
    return body, {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)}


@pytest.mark.parametrize("round_number", range(5))
def test_kb_serve_answers_every_question_and_counts_every_vote_under_concurrent_first_requests(
    served: tuple[str, SlackStandin, Any], voted_chunks: list[str], round_number: int
) -> None:
    base, slack, queue = served
    chunk_ids = voted_chunks
    ref = AnswerRef(answer_id="ALOAD", question="VPN?", cited=tuple((c, VPN_PAGE) for c in chunk_ids))
    kinds = [("search", "question", "vote")[i % 3] for i in range(REQUESTS)]
    random.Random(round_number).shuffle(kinds)

    def send(number: int) -> tuple[str, int]:
        kind = kinds[number]
        with httpx.Client(base_url=base, timeout=120) as client:
            if kind == "search":
                response = client.post(
                    "/search", json={"query": SEARCHES[number % len(SEARCHES)], "top_k": 3}
                )
            elif kind == "question":
                body, headers = _question(number)
                response = client.post("/slack/events", content=body, headers=headers)
            else:
                body, headers = _vote(number, ref, slack.response_url(f"vote-{number}"))
                response = client.post("/slack/actions", content=body, headers=headers)
        return kind, response.status_code

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = list(pool.map(send, range(REQUESTS)))
    queue.drain()

    assert [outcome for outcome in outcomes if outcome[1] != 200] == []
    answers = [call.args for call in slack.calls_to("chat.postMessage")]
    assert len(answers) == kinds.count("question")
    assert not [answer for answer in answers if answer.get("text") == SORRY]
    votes = kinds.count("vote")
    counts = build_store(load_settings()).get_metadata(ids=chunk_ids)
    assert {chunk_id: meta.feedback_count for chunk_id, meta in counts.items()} == dict.fromkeys(
        chunk_ids, votes
    )
