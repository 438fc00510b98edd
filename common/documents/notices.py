"""Document notices when no Slack app is configured (the CLI on one machine): each is logged, so what
approvers and authors would have been told is still on record."""

from __future__ import annotations

from common.documents.model import Document, DocumentVersion
from common.logs import get_logger

log = get_logger(__name__)


class LoggedNotices:
    def ask_to_decide(self, approver: str, doc: Document, version: DocumentVersion, changes: str) -> bool:
        log.info("document_decision_requested", approver=approver, document_id=doc.id, version=version.number)
        return True

    def remind(self, approver: str, doc: Document, version: DocumentVersion) -> bool:
        log.info("document_reminder", approver=approver, document_id=doc.id, version=version.number)
        return True

    def tell_author(self, doc: Document, what: str) -> None:
        log.info("document_author_told", author=doc.author, document_id=doc.id, what=what)
