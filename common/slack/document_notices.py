"""`common.documents.service.DocumentNotices` as Slack DMs: approvers get the request with its buttons,
authors hear every decision and the link once published. A DM Slack refuses is logged, and a request to
decide that did not arrive is sent again by the `document_workflow` job."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from common.documents.model import Document, DocumentVersion
from common.logs import get_logger
from common.slack.document_blocks import author_blocks, decision_request_blocks

log = get_logger(__name__)


class SlackDocumentNotices:
    def __init__(self, slack: WebClient) -> None:
        self._slack = slack

    def ask_to_decide(self, approver: str, doc: Document, version: DocumentVersion, changes: str) -> bool:
        text = f"Please review “{version.title}” (version {version.number})"
        return self._dm(approver, text, decision_request_blocks(doc, version, changes), doc=doc)

    def remind(self, approver: str, doc: Document, version: DocumentVersion) -> bool:
        text = f"Reminder: “{version.title}” is waiting for your decision"
        return self._dm(approver, text, decision_request_blocks(doc, version, "", reminder=True), doc=doc)

    def tell_author(self, doc: Document, what: str) -> None:
        self._dm(doc.author, what, author_blocks(doc, what), doc=doc)

    def _dm(self, user: str, text: str, blocks: list[dict[str, object]], *, doc: Document) -> bool:
        try:
            self._slack.chat_postMessage(channel=user, text=text, blocks=blocks, unfurl_links=False)
        except SlackClientError as exc:
            log.error("document_notice_not_sent", user=user, document_id=doc.id, error=str(exc))
            return False
        return True
