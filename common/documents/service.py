"""The document workflow with what follows each transition: events, the people told, the page published.

A transition (`common.documents.workflow`) is quick and is what the person who acted waits for; what
follows it (`follow_up`) calls Slack, Confluence and the embedding model, so Slack's handlers run it after
they have answered Slack, and the CLI right away. Publishing is claimed per document and version
(`common.infra.claims`), so an approval and a retry by the scheduled job never publish twice; when
Confluence is down or refuses, the document stays approved-not-published, the author is told, and
`publish_pending` (the `document_workflow` job) publishes it later.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from common.documents.model import Area, DecisionKind, DocType, Document, DocumentVersion
from common.documents.publishing import Publisher
from common.documents.workflow import Change, DocumentWorkflow
from common.errors import DocumentRefused, PublishFailed
from common.events.publishers import EventPublisher
from common.infra.claims import Claim, Claims
from common.logs import get_logger
from common.store.chunk import Classification

log = get_logger(__name__)

MAX_DIFF_LINES = 40
ASK_AGAIN_AFTER = timedelta(minutes=10)
"""A request to decide that Slack did not take is sent again by the first `remind_due` after this long
(longer than a handler takes to send it, so the job does not race the handler that is sending it)."""


class DocumentNotices(Protocol):
    """How people hear about documents (Slack DMs). Asking and reminding say whether the message was
    delivered, so a request Slack refused is sent again by the next `remind_due`; a notice to the author
    that fails is logged (the document's state is in `kb doc show` and on its page either way)."""

    def ask_to_decide(self, approver: str, doc: Document, version: DocumentVersion, changes: str) -> bool: ...

    def remind(self, approver: str, doc: Document, version: DocumentVersion) -> bool: ...

    def tell_author(self, doc: Document, what: str) -> None: ...


class DocumentService:
    def __init__(
        self,
        *,
        workflow: DocumentWorkflow,
        publisher: Publisher,
        notices: DocumentNotices,
        events: EventPublisher,
        claims: Claims,
        reminder_after: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._workflow = workflow
        self._publisher = publisher
        self._notices = notices
        self._events = events
        self._claims = claims
        self._reminder_after = reminder_after
        self._clock = clock

    @property
    def workflow(self) -> DocumentWorkflow:
        return self._workflow

    # --- transitions --------------------------------------------------------------------------------

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
        return self._recorded(
            self._workflow.create(
                title=title,
                area=area,
                doc_type=doc_type,
                classification=classification,
                owner=owner,
                author=author,
                body=body,
                source_link=source_link,
            )
        )

    def revise(self, document_id: str, *, editor: str, body: str, note: str, title: str = "") -> Change:
        return self._recorded(
            self._workflow.revise(document_id, editor=editor, body=body, note=note, title=title)
        )

    def decide(
        self, document_id: str, *, version: int, approver: str, kind: DecisionKind, reason: str = ""
    ) -> Change:
        return self._recorded(
            self._workflow.decide(document_id, version=version, approver=approver, kind=kind, reason=reason)
        )

    def set_area(
        self, name: str, approvers: Sequence[str], *, space_key: str = "", parent_page_id: str = ""
    ) -> Area:
        area, events = self._workflow.set_area(
            name, tuple(approvers), space_key=space_key, parent_page_id=parent_page_id
        )
        self._events.publish(events)
        return area

    # --- what follows -------------------------------------------------------------------------------

    def follow_up(self, change: Change) -> Document:
        """Ask the approvers, tell the author, publish: returns the document as it ends up."""
        doc = change.document
        if change.ask:
            changes = self._changes_since_previous(change.version)
            for approver in change.ask:
                self._ask(approver, doc, change.version, changes)
        if change.decision is not None:
            self._notices.tell_author(doc, _decision_said(change))
        if change.to_publish:
            doc = self.publish(doc.id)
        return doc

    def publish(self, document_id: str) -> Document:
        """Publish the approved version of a document, once, whoever else tries at the same time."""
        doc = self._workflow.document(document_id)
        if doc.status != "approved":
            return doc
        key = f"publish:{doc.id}:{doc.version}"
        if self._claims.claim(key) is not Claim.TAKEN:
            log.info("document_publish_elsewhere", document_id=doc.id, version=doc.version)
            return doc
        version = self._workflow.version(doc.id, doc.version)
        area = next((a for a in self._workflow.areas() if a.name == doc.area), None)
        if area is None:
            self._claims.release(key)
            raise DocumentRefused(f"The area {doc.area!r} of “{doc.title}” no longer exists.")
        try:
            published = self._publisher.publish(doc, version, area)
        except PublishFailed as exc:
            self._claims.release(key)
            failed = self._workflow.publish_failed(doc.id, error=str(exc))
            log.warning("document_not_published_yet", document_id=doc.id, error=str(exc))
            self._notices.tell_author(
                failed, f"“{doc.title}” is approved, but could not be published yet ({exc}). It will be soon."
            )
            return failed
        change = self._recorded(
            self._workflow.published(
                doc.id, version=version.number, page_id=published.page_id, page_url=published.url
            )
        )
        self._claims.complete(key)
        log.info("document_published", document_id=doc.id, version=version.number, page_id=published.page_id)
        self._notices.tell_author(change.document, f"“{doc.title}” is published: {published.url}")
        return change.document

    def publish_pending(self) -> list[Document]:
        """Publish every approved document whose publishing failed or was cut short; returns them."""
        return [self.publish(doc.id) for doc in self._workflow.documents(status="approved")]

    def remind_due(self) -> int:
        """Send every request to decide Slack has not taken yet, and remind approvers who have had one for
        longer than the reminder interval. Returns how many messages were delivered."""
        now, sent = self._clock(), 0
        for doc, pending in self._workflow.waiting():
            due = {
                approver: last
                for approver, last in pending.items()
                if (last is None and now - doc.updated_at >= ASK_AGAIN_AFTER)
                or (last is not None and now - last >= self._reminder_after)
            }
            if not due:
                continue
            version = self._workflow.version(doc.id, doc.version)
            for approver, last in due.items():
                if last is None:
                    sent += self._ask(approver, doc, version, self._changes_since_previous(version))
                elif self._notices.remind(approver, doc, version):
                    self._workflow.asked(doc.id, version.number, approver, at=self._clock())
                    sent += 1
        return sent

    def _ask(self, approver: str, doc: Document, version: DocumentVersion, changes: str) -> bool:
        delivered = self._notices.ask_to_decide(approver, doc, version, changes)
        if delivered:
            self._workflow.asked(doc.id, version.number, approver, at=self._clock())
        return delivered

    def _recorded(self, change: Change) -> Change:
        self._events.publish(change.events)
        return change

    def _changes_since_previous(self, version: DocumentVersion) -> str:
        if version.number == 1:
            return ""
        previous = self._workflow.version(version.document_id, version.number - 1)
        return diff(previous, version)


def diff(old: DocumentVersion, new: DocumentVersion, *, max_lines: int = MAX_DIFF_LINES) -> str:
    """What changed between two versions, as a unified diff of title and body."""
    lines = list(
        difflib.unified_diff(
            [f"# {old.title}", *old.body.splitlines()],
            [f"# {new.title}", *new.body.splitlines()],
            fromfile=f"version {old.number}",
            tofile=f"version {new.number}",
            lineterm="",
        )
    )
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"… {len(lines) - max_lines} more lines"]
    return "\n".join(lines)


def _decision_said(change: Change) -> str:
    decision, doc = change.decision, change.document
    assert decision is not None
    reason = f": {decision.reason}" if decision.reason else ""
    return {
        "approve": f"<@{decision.approver}> approved version {decision.version} of “{doc.title}”.",
        "request_changes": f"<@{decision.approver}> asked for changes to “{doc.title}”{reason}",
        "reject": f"<@{decision.approver}> rejected “{doc.title}”{reason}",
    }[decision.kind]
