"""The document workflow's rules: by type, by area, one decision per approver and version, atomically."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from common.documents.workflow import Change, DocumentWorkflow
from common.errors import DocumentNotFound, DocumentRefused
from common.events.model import AreaApproverChanged, DocumentChanged, DocumentVersionCreated
from tests.integration.documents.conftest import WorkflowFactory

APPROVERS = ("U1", "U2", "U3")


@pytest.fixture
def workflow(make_workflow: WorkflowFactory) -> DocumentWorkflow:
    flow = make_workflow()
    flow.set_area("people", APPROVERS, space_key="HR")
    flow.set_area("handbook", (), space_key="HB")
    return flow


def create(
    flow: DocumentWorkflow, doc_type: str = "policy", area: str = "people", author: str = "UA"
) -> Change:
    return flow.create(
        title="Parental leave",
        area=area,
        doc_type=doc_type,  # type: ignore[arg-type]
        classification="internal",
        owner="ana@example.com",
        author=author,
        body="Everyone gets sixteen weeks.",
    )


def test_a_policy_waits_for_the_area_approvers_other_than_its_author(workflow: DocumentWorkflow) -> None:
    change = create(workflow, author="U1")

    assert change.document.status == "in_review"
    assert change.ask == ("U2", "U3")
    assert not change.to_publish


@pytest.mark.parametrize("doc_type", ["guideline", "information"])
def test_guidelines_and_information_go_straight_to_publishing(
    workflow: DocumentWorkflow, doc_type: str
) -> None:
    change = create(workflow, doc_type, area="handbook")

    assert change.document.status == "approved"
    assert change.to_publish and change.ask == ()


def test_an_area_without_approvers_refuses_a_policy_naming_the_command(workflow: DocumentWorkflow) -> None:
    with pytest.raises(DocumentRefused, match=r"`kb approvers set handbook USER…`"):
        create(workflow, "procedure", area="handbook")


def test_an_unknown_area_is_refused_naming_the_command(workflow: DocumentWorkflow) -> None:
    with pytest.raises(DocumentRefused, match=r"no area 'finance'.*`kb approvers set finance USER…`"):
        create(workflow, area="finance")


def test_a_document_needs_a_title_and_a_body(workflow: DocumentWorkflow) -> None:
    with pytest.raises(DocumentRefused, match="needs a body"):
        workflow.create(
            title="Leave", area="people", doc_type="policy", classification="internal", owner="", author="UA",
            body="   ",
        )  # fmt: skip


def test_one_approval_approves_by_default(workflow: DocumentWorkflow) -> None:
    doc = create(workflow).document

    change = workflow.decide(doc.id, version=1, approver="U2", kind="approve")

    assert change.document.status == "approved" and change.to_publish


def test_more_approvals_can_be_required(make_workflow: WorkflowFactory) -> None:
    flow = make_workflow(required_approvals=2)
    flow.set_area("people", APPROVERS, space_key="HR")
    doc = create(flow).document

    first = flow.decide(doc.id, version=1, approver="U1", kind="approve")
    second = flow.decide(doc.id, version=1, approver="U2", kind="approve")

    assert (first.document.status, second.document.status) == ("in_review", "approved")


def test_a_decision_on_a_superseded_version_is_refused(workflow: DocumentWorkflow) -> None:
    doc = create(workflow).document
    workflow.decide(doc.id, version=1, approver="U1", kind="request_changes", reason="Say who qualifies")
    workflow.revise(doc.id, editor="UA", body="Every employee gets sixteen weeks.", note="Who qualifies")

    with pytest.raises(DocumentRefused, match=r"decision on version 1 .* now at version 2"):
        workflow.decide(doc.id, version=1, approver="U2", kind="approve")
    assert workflow.document(doc.id).status == "in_review"


def test_only_the_area_approvers_decide(workflow: DocumentWorkflow) -> None:
    doc = create(workflow).document

    with pytest.raises(DocumentRefused, match="not an approver of the people area"):
        workflow.decide(doc.id, version=1, approver="U9", kind="approve")


def test_an_author_who_is_an_approver_cannot_approve_their_own_document(workflow: DocumentWorkflow) -> None:
    doc = create(workflow, author="U1").document

    with pytest.raises(DocumentRefused, match="another approver"):
        workflow.decide(doc.id, version=1, approver="U1", kind="approve")


def test_sending_back_or_rejecting_needs_a_reason(workflow: DocumentWorkflow) -> None:
    doc = create(workflow).document

    with pytest.raises(DocumentRefused, match="Say why"):
        workflow.decide(doc.id, version=1, approver="U1", kind="reject", reason=" ")


def test_an_approver_decides_once_per_version(make_workflow: WorkflowFactory) -> None:
    flow = make_workflow(required_approvals=2)
    flow.set_area("people", APPROVERS, space_key="HR")
    doc = create(flow).document
    flow.decide(doc.id, version=1, approver="U1", kind="approve")

    with pytest.raises(DocumentRefused, match="already decided"):
        flow.decide(doc.id, version=1, approver="U1", kind="approve")


def test_a_document_sent_back_is_revised_into_a_new_version_and_asks_again(
    workflow: DocumentWorkflow,
) -> None:
    doc = create(workflow).document
    workflow.decide(doc.id, version=1, approver="U1", kind="request_changes", reason="Name the form")

    change = workflow.revise(doc.id, editor="UA", body="Fill in form HR-7.", note="Named the form")

    assert (change.document.status, change.document.version, change.ask) == ("in_review", 2, APPROVERS)
    _, versions, decisions = workflow.history(doc.id)
    assert [(v.number, v.editor, v.change_note) for v in versions] == [
        (1, "UA", "First version"),
        (2, "UA", "Named the form"),
    ]
    assert versions[0].body_hash != versions[1].body_hash
    assert [(d.version, d.approver, d.kind, d.reason) for d in decisions] == [
        (1, "U1", "request_changes", "Name the form")
    ]


def test_only_the_author_or_owner_revises(workflow: DocumentWorkflow) -> None:
    doc = create(workflow).document

    with pytest.raises(DocumentRefused, match="Only the author or the owner"):
        workflow.revise(doc.id, editor="U7", body="Mine now.", note="")


def test_a_rejected_document_cannot_be_revised(workflow: DocumentWorkflow) -> None:
    doc = create(workflow).document
    workflow.decide(doc.id, version=1, approver="U1", kind="reject", reason="Not a policy")

    with pytest.raises(DocumentRefused, match="rejected and cannot be revised"):
        workflow.revise(doc.id, editor="UA", body="Again.", note="")


def test_an_unknown_document_is_not_found_and_says_how_to_list_them(workflow: DocumentWorkflow) -> None:
    with pytest.raises(DocumentNotFound, match="`kb doc list`"):
        workflow.document("nope")


def test_every_transition_is_an_event_for_the_analytics_tables(workflow: DocumentWorkflow) -> None:
    change = create(workflow)
    decided = workflow.decide(change.document.id, version=1, approver="U2", kind="approve")

    assert [type(e) for e in change.events] == [DocumentChanged, DocumentVersionCreated]
    assert [(e.transition, e.status) for e in decided.events if isinstance(e, DocumentChanged)] == [
        ("approved", "approved")
    ]


def test_changing_approvers_reports_who_was_added_and_removed(workflow: DocumentWorkflow) -> None:
    area, events = workflow.set_area("people", ("U2", "U4"), space_key="")

    assert area.space_key == "HR"
    assert {(e.approver, e.action) for e in events if isinstance(e, AreaApproverChanged)} == {
        ("U4", "added"),
        ("U1", "removed"),
        ("U3", "removed"),
    }


def test_approvers_clicking_approve_at_once_approve_exactly_once(make_workflow: WorkflowFactory) -> None:
    """Each approver is another instance; one approval wins, the others find it approved already."""
    approvers = tuple(f"U{i}" for i in range(6))
    make_workflow().set_area("people", approvers, space_key="HR")
    doc = create(make_workflow()).document
    start = threading.Barrier(len(approvers))
    outcomes: list[Change | DocumentRefused] = []

    def approve(approver: str) -> Callable[[], None]:
        def run() -> None:
            flow = make_workflow()
            start.wait()
            try:
                outcomes.append(flow.decide(doc.id, version=1, approver=approver, kind="approve"))
            except DocumentRefused as refused:
                outcomes.append(refused)

        return run

    threads = [threading.Thread(target=approve(a)) for a in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    approved = [o for o in outcomes if isinstance(o, Change)]
    assert len(approved) == 1 and approved[0].to_publish
    assert all("is not waiting for a decision" in str(o) for o in outcomes if not isinstance(o, Change))
    _, _, decisions = make_workflow().history(doc.id)
    assert len(decisions) == 1


def test_documents_created_at_once_by_many_instances_are_all_kept(make_workflow: WorkflowFactory) -> None:
    make_workflow().set_area("handbook", (), space_key="HB")
    writers = 8
    start = threading.Barrier(writers)
    created: list[str] = []

    def write() -> None:
        flow = make_workflow()
        start.wait()
        created.append(create(flow, "guideline", area="handbook").document.id)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(d.id for d in make_workflow().documents()) == sorted(created)
    assert len(created) == writers
