"""The document workflow's transitions, each one atomic on the workflow store (`common.documents.store`).

A transition checks what it may do against the state it reads *inside* the change, so when two instances
race (two approvers clicking Approve at the same moment) the second runs again on the first one's result
and finds nothing left to do: one approval publishes, the other is recorded. A transition only changes the
store and says what happened (`Change`); telling people and publishing are the caller's to do afterwards
(`common.documents.service`), so a retried transition never sends a message twice.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from common.documents import store
from common.documents.model import (
    Area,
    Decision,
    DecisionKind,
    DocType,
    Document,
    DocumentVersion,
    Status,
    needs_approval,
)
from common.documents.store import WorkflowStore
from common.errors import DocumentNotFound, DocumentRefused
from common.events.model import AreaApproverChanged, DocumentChanged, DocumentVersionCreated, Event
from common.infra.shared_duckdb import Connection
from common.store.chunk import Classification

MAX_TITLE_CHARS = 150
MAX_BODY_CHARS = 40_000


@dataclass(frozen=True, slots=True)
class Change:
    """What one transition did."""

    document: Document
    version: DocumentVersion
    transition: str
    """`submitted`, `decided`, `approved`, `changes_requested`, `rejected`, `published`, `publish_failed`."""
    ask: tuple[str, ...] = ()
    """Approvers to ask for a decision on `version`."""
    decision: Decision | None = None
    events: list[Event] = field(default_factory=list)

    @property
    def to_publish(self) -> bool:
        return self.document.status == "approved"


class DocumentWorkflow:
    def __init__(
        self,
        store: WorkflowStore,
        *,
        required_approvals: int = 1,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._required = required_approvals
        self._clock = clock

    # --- areas --------------------------------------------------------------------------------------

    def set_area(
        self, name: str, approvers: tuple[str, ...], *, space_key: str, parent_page_id: str = ""
    ) -> tuple[Area, list[Event]]:
        name = name.strip().lower()
        if not name:
            raise DocumentRefused("An area needs a name, e.g. `kb approvers set people U012 U034`.")

        def transition(conn: Connection) -> tuple[Area, list[Event]]:
            before = store.area(conn, name)
            found = Area(
                name=name,
                approvers=tuple(dict.fromkeys(a.strip() for a in approvers if a.strip())),
                space_key=space_key or (before.space_key if before else name.upper()),
                parent_page_id=parent_page_id or (before.parent_page_id if before else ""),
            )
            store.save_area(conn, found, at=self._clock())
            old = set(before.approvers) if before else set()
            events: list[Event] = [
                AreaApproverChanged(area=name, space_key=found.space_key, approver=a, action="added")
                for a in found.approvers
                if a not in old
            ]
            events += [
                AreaApproverChanged(area=name, space_key=found.space_key, approver=a, action="removed")
                for a in sorted(old - set(found.approvers))
            ]
            return found, events

        return self._store.change(transition)

    def areas(self) -> list[Area]:
        return self._store.read(store.areas)

    # --- documents ----------------------------------------------------------------------------------

    def create(
        self,
        *,
        title: str,
        area: str,
        doc_type: DocType,
        classification: Classification,
        owner: str,
        author: str,
        body: str,
        source_link: str = "",
    ) -> Change:
        """Write version 1 and submit it: to the area's approvers, or straight to publishing."""
        title, body = _checked(title, body)
        now = self._clock()
        document_id = uuid.uuid4().hex[:12]

        def transition(conn: Connection) -> Change:
            found = _area(conn, area.strip().lower(), doc_type)
            doc = Document(
                id=document_id,
                title=title,
                area=found.name,
                doc_type=doc_type,
                classification=classification,
                owner=owner or author,
                author=author,
                status=_submitted_status(doc_type),
                version=1,
                created_at=now,
                updated_at=now,
                source_link=source_link,
            )
            version = _version(doc, title=title, body=body, editor=author, at=now, note="First version")
            store.save_document(conn, doc)
            store.add_version(conn, version)
            return _change(doc, version, "submitted", actor=author, found=found)

        return self._store.change(transition)

    def revise(self, document_id: str, *, editor: str, body: str, note: str, title: str = "") -> Change:
        """A new version, submitted again: a document sent back for changes, or one already published."""
        now = self._clock()

        def transition(conn: Connection) -> Change:
            doc = _document(conn, document_id)
            if doc.status == "rejected":
                raise DocumentRefused(
                    f"“{doc.title}” was rejected and cannot be revised; start a new document instead."
                )
            if editor not in (doc.author, doc.owner):
                raise DocumentRefused(f"Only the author or the owner of “{doc.title}” can revise it.")
            new_title, new_body = _checked(title or doc.title, body)
            found = _area(conn, doc.area, doc.doc_type)
            revised = replace(
                doc,
                title=new_title,
                version=doc.version + 1,
                status=_submitted_status(doc.doc_type),
                updated_at=now,
                publish_error="",
            )
            version = _version(revised, title=new_title, body=new_body, editor=editor, at=now, note=note)
            store.save_document(conn, revised)
            store.add_version(conn, version)
            return _change(revised, version, "submitted", actor=editor, found=found)

        return self._store.change(transition)

    def decide(
        self, document_id: str, *, version: int, approver: str, kind: DecisionKind, reason: str = ""
    ) -> Change:
        now = self._clock()
        if kind != "approve" and not reason.strip():
            raise DocumentRefused("Say why, so the author knows what to change.")

        def transition(conn: Connection) -> Change:
            doc = _document(conn, document_id)
            found = _area(conn, doc.area, doc.doc_type)
            if version != doc.version:
                raise DocumentRefused(
                    f"This was a decision on version {version} of “{doc.title}”, but it is now at version "
                    f"{doc.version}: decide on the latest version instead (it was sent to you)."
                )
            if doc.status != "in_review":
                raise DocumentRefused(
                    f"“{doc.title}” is not waiting for a decision: it is {_said(doc.status)}."
                )
            if approver not in found.approvers:
                raise DocumentRefused(
                    f"You are not an approver of the {doc.area} area; its approvers are "
                    f"{', '.join(found.approvers)}."
                )
            if approver == doc.author:
                raise DocumentRefused(f"You wrote “{doc.title}”: another approver of {doc.area} must decide.")
            if any(d.approver == approver for d in store.decisions(conn, doc.id, version=version)):
                raise DocumentRefused(f"You already decided on version {version} of “{doc.title}”.")
            decision = Decision(doc.id, version, approver, kind, reason.strip(), now)
            store.add_decision(conn, decision)
            approvals = sum(d.kind == "approve" for d in store.decisions(conn, doc.id, version=version))
            status: Status = {
                "approve": "approved" if approvals >= self._required else "in_review",
                "request_changes": "changes_requested",
                "reject": "rejected",
            }[kind]
            decided = replace(doc, status=status, updated_at=now)
            store.save_document(conn, decided)
            [current] = [v for v in store.versions(conn, doc.id) if v.number == version]
            return _change(
                decided,
                current,
                status if status != "in_review" else "decided",
                actor=approver,
                found=found,
                decision=decision,
                ask=(),
            )

        return self._store.change(transition)

    def published(self, document_id: str, *, version: int, page_id: str, page_url: str) -> Change:
        """Record where `version` was published. A later version approved meanwhile stays to be published."""
        now = self._clock()

        def transition(conn: Connection) -> Change:
            doc = _document(conn, document_id)
            status: Status = (
                "published" if doc.version == version and doc.status == "approved" else doc.status
            )
            done = replace(
                doc,
                status=status,
                published_version=max(doc.published_version, version),
                page_id=page_id,
                page_url=page_url,
                publish_error="",
                updated_at=now,
            )
            store.save_document(conn, done)
            [current] = [v for v in store.versions(conn, doc.id) if v.number == version]
            found = store.area(conn, doc.area)
            return _change(done, current, "published", actor="kb", found=found)

        return self._store.change(transition)

    def publish_failed(self, document_id: str, *, error: str) -> Document:
        def transition(conn: Connection) -> Document:
            doc = replace(_document(conn, document_id), publish_error=error[:500], updated_at=self._clock())
            store.save_document(conn, doc)
            return doc

        return self._store.change(transition)

    def asked(self, document_id: str, version: int, approver: str, *, at: datetime) -> None:
        """Record that `approver` was sent the request (or a reminder) to decide on `version` at `at`."""
        self._store.change(lambda conn: store.record_ask(conn, document_id, version, approver, at=at))

    # --- reading ------------------------------------------------------------------------------------

    def document(self, document_id: str) -> Document:
        return self._store.read(lambda conn: _document(conn, document_id))

    def documents(self, *, status: Status | None = None) -> list[Document]:
        return self._store.read(lambda conn: store.documents(conn, status=status))

    def history(self, document_id: str) -> tuple[Document, list[DocumentVersion], list[Decision]]:
        def query(conn: Connection) -> tuple[Document, list[DocumentVersion], list[Decision]]:
            doc = _document(conn, document_id)
            return doc, store.versions(conn, doc.id), store.decisions(conn, doc.id)

        return self._store.read(query)

    def waiting(self) -> list[tuple[Document, dict[str, datetime | None]]]:
        """Documents in review, each with the approvers who have not decided on its version yet and when
        each was last sent the request (None: Slack never took it)."""

        def query(conn: Connection) -> list[tuple[Document, dict[str, datetime | None]]]:
            found: list[tuple[Document, dict[str, datetime | None]]] = []
            for doc in store.documents(conn, status="in_review"):
                area = store.area(conn, doc.area)
                decided = {d.approver for d in store.decisions(conn, doc.id, version=doc.version)}
                pending = {
                    a: store.last_asked(conn, doc.id, doc.version, a)
                    for a in (area.approvers if area else ())
                    if a not in decided and a != doc.author
                }
                found.append((doc, pending))
            return found

        return self._store.read(query)

    def version(self, document_id: str, number: int) -> DocumentVersion:
        def query(conn: Connection) -> DocumentVersion:
            for found in store.versions(conn, document_id):
                if found.number == number:
                    return found
            raise DocumentNotFound(f"Document {document_id} has no version {number}.")

        return self._store.read(query)


# --- rules --------------------------------------------------------------------------------------------


def _submitted_status(doc_type: DocType) -> Status:
    return "in_review" if needs_approval(doc_type) else "approved"


def _document(conn: Connection, document_id: str) -> Document:
    doc = store.document(conn, document_id)
    if doc is None:
        raise DocumentNotFound(f"There is no document {document_id!r}; `kb doc list` shows them all.")
    return doc


def _area(conn: Connection, name: str, doc_type: DocType) -> Area:
    found = store.area(conn, name)
    if found is None:
        raise DocumentRefused(
            f"There is no area {name!r}. An administrator adds it with `kb approvers set {name} USER…`."
        )
    if needs_approval(doc_type) and not found.approvers:
        raise DocumentRefused(
            f"The {name} area has no approvers, so a {doc_type} cannot be submitted there. "
            f"An administrator sets them with `kb approvers set {name} USER…`."
        )
    return found


def _checked(title: str, body: str) -> tuple[str, str]:
    title, body = " ".join(title.split()), body.strip()
    if not title:
        raise DocumentRefused("A document needs a title.")
    if len(title) > MAX_TITLE_CHARS:
        raise DocumentRefused(f"The title is longer than {MAX_TITLE_CHARS} characters; shorten it.")
    if not body:
        raise DocumentRefused("A document needs a body: write it, or give a description to draft it from.")
    if len(body) > MAX_BODY_CHARS:
        raise DocumentRefused(f"The body is longer than {MAX_BODY_CHARS} characters; split the document.")
    return title, body


def _version(
    doc: Document, *, title: str, body: str, editor: str, at: datetime, note: str
) -> DocumentVersion:
    return DocumentVersion(
        document_id=doc.id,
        number=doc.version,
        title=title,
        body=body,
        body_hash=hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()[:32],
        editor=editor,
        created_at=at,
        change_note=note.strip(),
    )


def _change(
    doc: Document,
    version: DocumentVersion,
    transition: str,
    *,
    actor: str,
    found: Area | None,
    decision: Decision | None = None,
    ask: tuple[str, ...] | None = None,
) -> Change:
    """The change, with the approvers to ask (everyone but the author, for a newly submitted version) and
    the events that record it."""
    space_key = found.space_key if found else ""
    if ask is None:
        ask = (
            tuple(a for a in (found.approvers if found else ()) if a != doc.author)
            if doc.status == "in_review"
            else ()
        )
    events: list[Event] = [
        DocumentChanged(
            document_id=doc.id,
            transition=transition,
            actor=actor,
            status=doc.status,
            title=doc.title,
            area=doc.area,
            doc_type=doc.doc_type,
            classification=doc.classification,
            document_version=doc.version,
            owner=doc.owner,
            page_id=doc.page_id,
            space_key=space_key,
            url=doc.page_url,
        )
    ]
    if transition == "submitted":
        events.append(
            DocumentVersionCreated(
                document_id=doc.id,
                page_id=doc.page_id,
                page_version=version.number,
                updated_at=version.created_at.isoformat(),
                body_hash=version.body_hash,
                editor=version.editor,
                change_note=version.change_note,
            )
        )
    return Change(
        document=doc, version=version, transition=transition, ask=ask, decision=decision, events=events
    )


def _said(status: Status) -> str:
    return {
        "draft": "a draft",
        "in_review": "in review",
        "changes_requested": "sent back for changes",
        "approved": "approved",
        "published": "published",
        "rejected": "rejected",
    }[status]
