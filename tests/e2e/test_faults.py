"""The whole system while its parts fail: what the user sees, and that nothing is lost or duplicated after.

Chroma is killed (SIGKILL, as a lost VM) and restarted on the same disk; the Pub/Sub emulator is stopped and
started again; Confluence answers 429, 500 and then nothing; Slack retries its deliveries; two ingest jobs
race on the same analytics file in GCS. Every test leaves the shared `system` running as it found it.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.config import load_settings
from common.errors import EXIT_UNAVAILABLE
from common.events.model import ChunkAccessed
from common.infra.blob_store import GcsBlobStore
from common.infra.pubsub import PubSubPublisher
from common.runtime.infra import build_blob_store
from common.slack.feedback_blocks import AnswerRef
from common.slack.interactions import NOT_COUNTED_YET
from tests.support.confluence_standin import ConfluenceStandin
from tests.support.function_service import FunctionService
from tests.support.pubsub_emulator import PubSubEmulator
from tests.support.slack_payloads import button_click, mention, problem_report
from tests.support.slack_standin import SlackCall, SlackStandin
from tests.support.system import ASKER, PROJECT, System
from tests.support.tcp_cut import TcpCut
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def chroma_restarted(system: System) -> Iterator[None]:
    """Whatever a test does to Chroma, the next test finds it up again."""
    yield
    system.chroma.stop()
    system.chroma.start()


def _ref(system: System, page_id: str) -> AnswerRef:
    cited = tuple(
        (chunk_id, page_id) for chunk_id in sorted(system.store().get_metadata(where={"page_id": page_id}))
    )
    return AnswerRef(answer_id=uuid.uuid4().hex, question="What is the Wi-Fi password?", cited=cited[:2])


def _vote(system: System, url: str, ref: AnswerRef, *, user: str, kind: str = "helpful") -> str:
    reply_to = f"r-{uuid.uuid4().hex[:8]}"
    payload = button_click(
        f"kb_vote_{kind}",
        ref.to_value(),
        user=user,
        response_url=system.slack.response_url(reply_to),
        message_blocks=None,
    )
    assert system.interact(payload, url=url).status_code == 200
    return reply_to


def _feedback_counts(system: System, ref: AnswerRef) -> dict[str, int]:
    ids = [chunk_id for chunk_id, _ in ref.cited]
    return {cid: meta.feedback_count for cid, meta in system.store().get_metadata(ids=ids).items()}


# --- Chroma -------------------------------------------------------------------------------------------


def test_chroma_killed_during_a_sync_fails_the_job_retryably_and_the_next_sync_completes_exactly(
    system: System, confluence: ConfluenceStandin, pages: dict[str, str], chroma_restarted: None
) -> None:
    page = pages["1105"]
    confluence.edit_page(
        page, body=confluence.pages[page].body + "<p>Requests now go through the portal.</p>"
    )
    confluence.before_next("/rest/api/search", system.chroma.stop)

    failed = system.run_job("confluence_sync")

    assert failed.status == EXIT_UNAVAILABLE
    assert system.env["CHROMA_URL"] in failed.output
    system.chroma.start()
    done = system.run_job("confluence_sync")
    assert done.status == 0, done.output
    stored = system.store().get_metadata(where={"space_key": "HB"})
    assert {meta.page_id for meta in stored.values()} == set(confluence.pages)
    assert any("through the portal" in c.text for c in system.store().get_chunks(where={"page_id": page}))
    assert len(stored) == len(set(stored))


def test_chroma_killed_during_a_search_gets_a_503_with_a_retry_hint_then_search_recovers(
    system: System, chroma_restarted: None
) -> None:
    before = system.search("How do I reset my password?").json()["results"]
    system.chroma.stop()

    down = system.search("How do I reset my password?")

    assert down.status_code == 503
    assert "Retry-After" in down.headers and "Traceback" not in down.text
    system.chroma.start()
    after = system.search("How do I reset my password?")
    assert after.status_code == 200
    # The same best page; lower ranks may move if the keyword index caught up with other tests' writes.
    assert after.json()["results"][0]["page_id"] == before[0]["page_id"]
    assert len(after.json()["results"]) == len(before)


def test_a_vote_while_chroma_is_down_is_kept_told_to_the_user_and_counted_once_when_it_is_back(
    system: System, pages: dict[str, str], slack_api: SlackStandin, chroma_restarted: None
) -> None:
    ref = _ref(system, pages["1102"])
    before = _feedback_counts(system, ref)
    system.chroma.stop()

    told = _vote(system, system.functions["slack_actions"].url, ref, user="U-outage")

    assert slack_api.wait_for_response(told)[0]["text"] == NOT_COUNTED_YET
    system.chroma.start()
    assert system.run_job("quality_decay").status == 0
    assert system.run_job("quality_decay").status == 0  # a second run counts nothing twice
    assert _feedback_counts(system, ref) == {cid: count + 1 for cid, count in before.items()}


# --- Pub/Sub ------------------------------------------------------------------------------------------


def test_feedback_given_while_pubsub_is_down_counts_at_once_and_its_events_follow_when_it_is_back(
    system: System, pages: dict[str, str], slack_api: SlackStandin, tmp_path: Path
) -> None:
    """The network to the system's Pub/Sub emulator is cut for this instance only (its topic and
    subscription live on), then restored."""
    topic = f"kb-analytics-down-{uuid.uuid4().hex[:6]}"
    system.pubsub.create_topic(PROJECT, topic)
    system.pubsub.create_pull_subscription(PROJECT, topic, f"{topic}-read")
    with TcpCut(system.pubsub.host) as network:
        env = system.env | {"PUBSUB_ENDPOINT": network.host, "ANALYTICS_TOPIC": topic}
        actions = FunctionService("slack_actions", env, log_dir=tmp_path / "logs").start()
        try:
            network.cut()
            ref = _ref(system, pages["1104"])
            before = _feedback_counts(system, ref)

            thanked = _vote(system, actions.url, ref, user="U-pubsub-down")

            assert "Thanks" in json.dumps(slack_api.wait_for_response(thanked))
            assert _feedback_counts(system, ref) == {cid: count + 1 for cid, count in before.items()}
            wait_until(
                lambda: _logged(actions, "events_buffered"), timeout=60, what="the events being buffered"
            )
            network.restore()
            feedback = system.pubsub.pull_events(
                PROJECT, f"{topic}-read", wait_for=len(ref.cited), kind="user_feedback", timeout=60
            )
            assert sorted(e["chunk_id"] for e in feedback) == sorted(cid for cid, _ in ref.cited)
        finally:
            actions.stop()


def test_events_of_an_instance_killed_while_pubsub_was_down_land_once_through_the_ingest_job(
    system: System, pages: dict[str, str], slack_api: SlackStandin, tmp_path: Path
) -> None:
    """Its own Pub/Sub emulator, stopped, and its own slack_actions, killed once its unconfirmed events are
    in the bucket: the instance's disk is gone with it, and the ingest job still stores each event once."""
    pubsub = PubSubEmulator(tmp_path / "pubsub").start()
    env = system.env | {"PUBSUB_ENDPOINT": pubsub.host}  # the system's topic, out of this instance's reach
    actions = FunctionService("slack_actions", env, log_dir=tmp_path / "logs").start()
    blobs = build_blob_store(load_settings(gcs_bucket=system.bucket, gcs_endpoint=system.env["GCS_ENDPOINT"]))
    try:
        pubsub.stop()
        ref = _ref(system, pages["1104"])
        thanked = _vote(system, actions.url, ref, user="U-instance-lost")
        assert "Thanks" in json.dumps(slack_api.wait_for_response(thanked))
        # Other instances of the system may already be sending the batch on; this one has written it.
        wait_until(lambda: _logged(actions, "events_buffered"), timeout=60, what="the events being buffered")
    finally:
        actions.stop()
        pubsub.stop()

    def stored_after_an_ingest_run() -> dict[str, int]:
        assert system.run_job("analytics_ingest").status == 0
        rows = system.kb(
            "analytics",
            "query",
            "SELECT count(*) AS n, count(DISTINCT chunk_id) AS chunks FROM user_feedback "
            f"WHERE answer_id = '{ref.answer_id}'",
            "--json",
        )
        return dict(json.loads(rows.stdout)[0])

    # A run may find the batch neither in the buffer nor yet in Pub/Sub while another instance resends it;
    # then the next run stores it. What must hold is that it lands, once, and leaves the buffer.
    wait_until(
        lambda: stored_after_an_ingest_run()["n"] >= len(ref.cited), timeout=120, what="the events landing"
    )
    wait_until(lambda: _buffered_vote_events(blobs, ref) == 0, timeout=60, what="the buffer emptying")
    assert stored_after_an_ingest_run() == {"n": len(ref.cited), "chunks": len(ref.cited)}


def _logged(service: FunctionService, message: str) -> bool:
    lines = service.log_path.read_text(errors="replace").splitlines()
    return any(line.startswith("{") and json.loads(line).get("message") == message for line in lines)


def _buffered_vote_events(blobs: GcsBlobStore, ref: AnswerRef) -> int:
    """`user_feedback` events of this answer waiting in the bucket's event buffers."""
    waiting = 0
    for name in blobs.names("event-buffer/"):
        for line in (blobs.get_bytes(name) or b"").splitlines():
            record = json.loads(line)
            waiting += record["kind"] == "user_feedback" and record["answer_id"] == ref.answer_id
    return waiting


# --- owner notices ------------------------------------------------------------------------------------


def _digests_about(slack_api: SlackStandin, owner: str, title: str) -> list[SlackCall]:
    return [
        call
        for call in slack_api.messages_to(owner)
        if title in json.dumps(call.args.get("blocks")) and "kb_mark_reviewed" in json.dumps(call.args)
    ]


def _owner_sees(slack_api: SlackStandin, owner: str, title: str) -> str:
    """The digest as the owner sees it now: its last update, or the message as posted."""
    posted = _digests_about(slack_api, owner, title)[-1]
    updates = [
        c for c in slack_api.calls_to("chat.update") if c.args.get("ts") and title in json.dumps(c.args)
    ]
    return json.dumps((updates[-1] if updates else posted).args["blocks"])


def test_an_owner_dm_slack_refuses_is_delivered_by_the_daily_quality_job(
    system: System, pages: dict[str, str], slack_api: SlackStandin
) -> None:
    ref = _ref(system, pages["1104"])
    correction = f"SSO moved to the new identity provider ({uuid.uuid4().hex[:6]})"
    slack_api.fail_next("chat.postMessage", status=500, retry_after=None)

    report = problem_report(ref.to_value(), "outdated", user=ASKER, correction=correction)
    assert system.interact(report).status_code == 200
    slack_api.wait_for_match("chat.postMessage", lambda c: correction in json.dumps(c.args), count=1)
    assert system.run_job("quality_decay").status == 0

    [_, delivered] = slack_api.wait_for_match(
        "chat.postMessage", lambda c: correction in json.dumps(c.args), count=2
    )
    assert delivered in slack_api.messages_to("UTOM")


def test_two_instances_hearing_of_a_pages_first_problems_at_once_send_its_owner_one_message(
    system: System, pages: dict[str, str], slack_api: SlackStandin, tmp_path: Path
) -> None:
    other = FunctionService("slack_actions", system.env, log_dir=tmp_path / "logs").start()
    try:
        ref = _ref(system, pages["1100"])
        run = uuid.uuid4().hex[:6]
        reports = [
            (
                url,
                problem_report(ref.to_value(), "incorrect", user=f"U-{n}-{run}", correction=f"fix {n} {run}"),
            )
            for n, url in enumerate([None, other.url])
        ]
        barrier = threading.Barrier(len(reports))

        def send(url: str | None, payload: dict[str, object]) -> None:
            barrier.wait()
            assert system.interact(payload, url=url).status_code == 200

        threads = [threading.Thread(target=send, args=report) for report in reports]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_until(
            lambda: bool(_digests_about(slack_api, "UPRIYA", "IT and Equipment")), timeout=60, what="a digest"
        )
        assert system.run_job("quality_decay").status == 0  # delivers what the race left pending, if anything
    finally:
        other.stop()

    assert len(_digests_about(slack_api, "UPRIYA", "IT and Equipment")) == 1
    shown = _owner_sees(slack_api, "UPRIYA", "IT and Equipment")
    assert f"fix 0 {run}" in shown and f"fix 1 {run}" in shown


# --- GCS ----------------------------------------------------------------------------------------------


def test_two_ingest_jobs_racing_on_one_file_store_every_event_once(system: System) -> None:
    run = uuid.uuid4().hex[:8]
    events = [
        ChunkAccessed(chunk_id=f"race-{n}", page_id="p", query_id=f"race-{run}", rank=1, source="search_api")
        for n in range(300)
    ]
    topic = PubSubPublisher(PROJECT, system.analytics_topic, endpoint=system.env["PUBSUB_ENDPOINT"])
    failed = topic.publish_many([(json.dumps(e.to_record()).encode(), {"kind": e.kind}) for e in events])
    assert failed == []

    results = []
    jobs = [
        threading.Thread(target=lambda: results.append(system.run_job("analytics_ingest"))) for _ in range(2)
    ]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()

    assert [r.status for r in results] == [0, 0], [r.output for r in results]
    rows = system.kb(
        "analytics",
        "query",
        "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM chunk_access_log "
        f"WHERE query_id = 'race-{run}'",
        "--json",
    )
    assert json.loads(rows.stdout) == [{"n": 300, "d": 300}]


# --- Slack and Confluence -----------------------------------------------------------------------------


def test_an_event_slack_delivers_four_times_is_answered_once(system: System, slack_api: SlackStandin) -> None:
    ts = f"1701{uuid.uuid4().int % 10**6:06d}.000100"
    event = mention(f"EvRetry{uuid.uuid4().hex[:6]}", "How do I set up my laptop?", ts=ts, user=ASKER)

    statuses = [system.send_event(event).status_code] + [
        system.send_event(
            event, **{"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"}
        ).status_code
        for n in (1, 2, 3)
    ]

    assert statuses == [200, 200, 200, 200]
    later_ts = f"1702{uuid.uuid4().int % 10**6:06d}.000100"
    system.send_event(mention(f"EvAfter{uuid.uuid4().hex[:6]}", "How do I request software?", ts=later_ts))
    slack_api.wait_for_match("chat.postMessage", lambda c: c.args.get("thread_ts") == later_ts)
    assert len(slack_api.wait_for_match("chat.postMessage", lambda c: c.args.get("thread_ts") == ts)) == 1


def test_confluence_answering_429_then_500_then_nothing_is_retried_and_the_sync_completes(
    system: System, confluence: ConfluenceStandin, pages: dict[str, str]
) -> None:
    page = pages["1107"]
    confluence.edit_page(page, body=confluence.pages[page].body + "<p>Ask in #it-help first.</p>")
    confluence.fail("429", retry_after=1)
    confluence.fail("500")
    confluence.fail("hang", hang_seconds=5)
    seen = len(confluence.requests)

    run = system.run_job("confluence_sync")

    assert run.status == 0, run.output
    assert [r.status for r in confluence.requests[seen : seen + 3]] == [429, 500, 200]  # the hang timed out
    assert run.finished("confluence_sync")["pages_changed"] == 1
    assert any("#it-help" in c.text for c in system.store().get_chunks(where={"page_id": page}))


def test_confluence_down_for_good_fails_the_job_retryably_and_deletes_nothing(
    system: System, confluence: ConfluenceStandin
) -> None:
    stored = len(system.store().get_metadata(where={"space_key": "HB"}))
    confluence.fail("500", times=50)

    run = system.run_job("confluence_sync")

    confluence.clear_faults()
    assert run.status == EXIT_UNAVAILABLE
    assert "Confluence" in run.output
    assert len(system.store().get_metadata(where={"space_key": "HB"})) == stored
