"""What follows a transition: approvers asked on Slack, authors told, approved versions published once,
to the knowledge base (the embedded default) or to Confluence, and nothing lost when either is down."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from common.config import Settings, get_settings, load_settings
from common.confluence.rest_mapping import owner_label
from common.documents.model import Document
from common.documents.service import ASK_AGAIN_AFTER, DocumentService
from common.runtime.documents import build_document_service
from common.runtime.sources import build_rest_source
from common.runtime.store import build_store
from common.store.chunk_store import ChunkStore
from tests.support.confluence_standin import ConfluenceStandin
from tests.support.runs import run_sync
from tests.support.slack_standin import SlackStandin
from tests.support.waiting import wait_until

AUTHOR, APPROVERS = "UAUTHOR", ("UAPP1", "UAPP2")
BODY = (
    "## Who\n\nEvery employee may work from abroad for **four weeks** a year.\n\n- Tell your manager first\n"
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStandin]:
    with SlackStandin() as standin:
        for user in (AUTHOR, *APPROVERS):
            standin.add_user(user, f"{user.lower()}@example.com")
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
        monkeypatch.setenv("SLACK_API_URL", standin.api_url)
        get_settings.cache_clear()
        yield standin


@pytest.fixture
def confluence(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConfluenceStandin]:
    with ConfluenceStandin() as standin:
        standin.add_space("HR", "People")
        monkeypatch.setenv("CONFLUENCE_URL", standin.url)
        monkeypatch.setenv("CONFLUENCE_USER", standin.user or "")
        monkeypatch.setenv("CONFLUENCE_API_TOKEN", standin.token)
        monkeypatch.setenv("CONFLUENCE_SPACES", "HR")
        monkeypatch.setenv("CONFLUENCE_TIMEOUT_SECONDS", "1")
        monkeypatch.setenv("CONFLUENCE_MAX_RETRIES", "1")
        get_settings.cache_clear()
        yield standin


def make_service(settings: Settings, store: ChunkStore, clock: Clock | None = None) -> DocumentService:
    """An instance's service, on a clock the test moves."""
    return build_document_service(settings, store, clock=clock or Clock())


def submit(service: DocumentService, doc_type: str = "policy") -> Document:
    service.set_area("people", APPROVERS, space_key="HR")
    change = service.create(
        title="Working from abroad",
        area="people",
        doc_type=doc_type,  # type: ignore[arg-type]
        classification="internal",
        owner="maria.lopez@example.com",
        author=AUTHOR,
        body=BODY,
    )
    return service.follow_up(change)


def approve(service: DocumentService, doc: Document, approver: str = APPROVERS[0]) -> Document:
    return service.follow_up(service.decide(doc.id, version=doc.version, approver=approver, kind="approve"))


def dm_texts(slack: SlackStandin, user: str) -> list[str]:
    return [call.args["text"] for call in slack.messages_to(user)]


# --- on the embedded default ---------------------------------------------------------------------------


def test_each_approver_is_asked_with_buttons_for_that_version(slack: SlackStandin) -> None:
    settings = load_settings()
    submit(make_service(settings, build_store(settings)))

    for approver in APPROVERS:
        [request] = slack.messages_to(approver)
        actions = next(b for b in request.args["blocks"] if b["type"] == "actions")["elements"]
        assert [a["action_id"] for a in actions] == [
            "kb_doc_approve",
            "kb_doc_request_changes",
            "kb_doc_reject",
        ]
        assert all('"v": 1' in a["value"] or '"v":1' in a["value"] for a in actions)


def test_an_approved_policy_is_searchable_and_the_author_gets_the_link(slack: SlackStandin) -> None:
    settings = load_settings()
    store = build_store(settings)
    service = make_service(settings, store)
    doc = submit(service)

    published = approve(service, doc)

    assert published.status == "published" and published.page_id == f"doc-{doc.id}"
    chunks = store.get_chunks(where={"page_id": published.page_id})
    assert chunks and all(c.metadata.owner == "maria.lopez@example.com" for c in chunks)
    assert any(f"is published: {settings.doc_link_base}/{doc.id}" in t for t in dm_texts(slack, AUTHOR))
    assert any("approved version 1" in t for t in dm_texts(slack, AUTHOR))


def test_a_guideline_is_published_at_once(slack: SlackStandin) -> None:
    settings = load_settings()
    doc = submit(make_service(settings, build_store(settings)), "guideline")

    assert doc.status == "published"
    assert slack.messages_to(APPROVERS[0]) == []


def test_a_revision_diff_is_sent_with_the_new_version(slack: SlackStandin) -> None:
    settings = load_settings()
    service = make_service(settings, build_store(settings))
    doc = submit(service)
    service.follow_up(
        service.decide(doc.id, version=1, approver=APPROVERS[0], kind="request_changes", reason="Say how")
    )

    service.follow_up(
        service.revise(doc.id, editor=AUTHOR, body=BODY + "- Book travel through the portal\n", note="How")
    )

    request = slack.messages_to(APPROVERS[1])[-1]
    shown = str(request.args["blocks"])
    assert "version 2" in request.args["text"] and "+- Book travel through the portal" in shown


def test_a_request_slack_refused_is_sent_again_by_the_next_job_run(slack: SlackStandin) -> None:
    settings = load_settings()
    clock = Clock()
    service = make_service(settings, build_store(settings), clock)
    slack.fail_next("chat.postMessage", status=500)
    submit(service)
    assert len(slack.messages_to(APPROVERS[0])) == 1  # the refused attempt

    assert service.remind_due() == 0  # the handler may still be sending it
    clock.now += ASK_AGAIN_AFTER + timedelta(minutes=1)
    sent = service.remind_due()

    assert sent == 1
    assert "Please review" in slack.messages_to(APPROVERS[0])[-1].args["text"]
    assert service.remind_due() == 0


def test_approvers_are_reminded_after_the_reminder_interval_once(slack: SlackStandin) -> None:
    settings = load_settings()
    clock = Clock()
    service = make_service(settings, build_store(settings), clock)
    submit(service)
    clock.now += timedelta(days=settings.doc_review_reminder_days) - timedelta(minutes=1)
    assert service.remind_due() == 0

    clock.now += timedelta(minutes=2)

    assert service.remind_due() == 2
    assert all("Reminder" in dm_texts(slack, a)[-1] for a in APPROVERS)
    assert service.remind_due() == 0


def test_two_approvals_at_once_publish_once(slack: SlackStandin) -> None:
    settings = load_settings()
    store = build_store(settings)
    doc = submit(make_service(settings, store))
    start = threading.Barrier(len(APPROVERS))
    results: list[object] = []

    def click(approver: str) -> None:
        service = make_service(settings, store)
        start.wait()
        try:
            results.append(approve(service, doc, approver))
        except Exception as exc:  # noqa: BLE001 - the loser's refusal is what the test reads
            results.append(exc)

    threads = [threading.Thread(target=click, args=(a,)) for a in APPROVERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(isinstance(r, Document) and r.status == "published" for r in results) == 1
    assert sum("is published" in t for t in dm_texts(slack, AUTHOR)) == 1


# --- with Confluence -----------------------------------------------------------------------------------


def test_an_approved_document_becomes_a_labelled_confluence_page_the_next_sync_leaves_alone(
    slack: SlackStandin, confluence: ConfluenceStandin
) -> None:
    settings = load_settings()
    store = build_store(settings)
    parent = confluence.add_page("HR", "Policies")
    run_sync(settings, source=build_rest_source(settings))
    service = make_service(settings, store)
    service.set_area("people", APPROVERS, space_key="HR", parent_page_id=parent)
    doc = submit(service)

    published = approve(service, doc)

    page = confluence.pages[published.page_id]
    assert (page.space_key, page.title, page.parent_id) == ("HR", "Working from abroad", parent)
    assert set(page.labels) == {"kb-doc", f"kb-doc-{doc.id}", owner_label(doc.owner), "internal"}
    assert "<strong>four weeks</strong>" in page.body and "<h2>Who</h2>" in page.body
    assert published.page_url.endswith(f"/pages/{published.page_id}/Working+from+abroad")
    chunks = store.get_chunks(where={"page_id": published.page_id})
    assert chunks and {c.metadata.owner for c in chunks} == {doc.owner}

    summary = run_sync(settings, source=build_rest_source(settings))

    assert (summary.pages_added, summary.pages_changed) == (0, 0)
    assert len(store.get_chunks(where={"page_id": published.page_id})) == len(chunks)


def test_a_later_approved_version_updates_the_same_page(
    slack: SlackStandin, confluence: ConfluenceStandin
) -> None:
    settings = load_settings()
    service = make_service(settings, build_store(settings))
    first = approve(service, submit(service))

    revised = service.follow_up(
        service.revise(first.id, editor=AUTHOR, body=BODY + "\nUpdated.", note="More")
    )
    second = approve(service, revised)

    assert second.page_id == first.page_id and second.published_version == 2
    assert confluence.pages[first.page_id].version == 2
    assert len([p for p in confluence.pages.values() if p.title == "Working from abroad"]) == 1


def test_confluence_down_at_publish_keeps_it_approved_and_a_later_run_publishes_once(
    slack: SlackStandin, confluence: ConfluenceStandin
) -> None:
    settings = load_settings()
    service = make_service(settings, build_store(settings))
    doc = submit(service)
    confluence.fail("500", times=50)

    waiting = approve(service, doc)

    assert waiting.status == "approved" and "500" in waiting.publish_error
    assert any("could not be published yet" in t for t in dm_texts(slack, AUTHOR))
    confluence.clear_faults()

    [published] = make_service(settings, build_store(settings)).publish_pending()

    assert published.status == "published"
    assert len(confluence.writes()) == 1
    assert make_service(settings, build_store(settings)).publish_pending() == []


def test_a_page_created_whose_answer_was_lost_is_found_again_not_created_twice(
    slack: SlackStandin, confluence: ConfluenceStandin
) -> None:
    settings = load_settings()
    service = make_service(settings, build_store(settings))
    doc = submit(service)
    confluence.fail("hang", path="/rest/api/content", hang_seconds=2)

    waiting = approve(service, doc)
    assert waiting.status == "approved"
    wait_until(
        lambda: confluence.log_for("/rest/api/content")[0].status == 200, timeout=10, what="the late create"
    )

    [published] = service.publish_pending()

    created = [p for p in confluence.pages.values() if f"kb-doc-{doc.id}" in p.labels]
    assert [p.page_id for p in created] == [published.page_id]
    assert created[0].version == 2  # found by its label and updated, not created again


def test_confluence_refusing_the_page_is_reported_to_the_author(
    slack: SlackStandin, confluence: ConfluenceStandin
) -> None:
    settings = load_settings()
    service = make_service(settings, build_store(settings))
    confluence.add_page("HR", "Working from abroad", "<p>A page someone wrote by hand.</p>")
    doc = submit(service)

    waiting = approve(service, doc)

    assert waiting.status == "approved" and "already exists" in waiting.publish_error
    assert any("already exists" in t for t in dm_texts(slack, AUTHOR))


def test_an_area_in_a_space_that_is_not_synced_is_not_published_there(
    slack: SlackStandin, confluence: ConfluenceStandin
) -> None:
    settings = load_settings()
    service = make_service(settings, build_store(settings))
    service.set_area("people", APPROVERS, space_key="FIN")
    doc = service.follow_up(
        service.create(
            title="Expenses", area="people", doc_type="guideline", classification="internal",
            owner="", author=AUTHOR, body="Claim within a month.",
        )
    )  # fmt: skip

    assert doc.status == "approved" and "CONFLUENCE_SPACES" in doc.publish_error
    assert confluence.writes() == []
