"""A published document as a web page, for the links of documents published without Confluence."""

from __future__ import annotations

from html import escape

from common.documents.markdown import to_html
from common.documents.workflow import DocumentWorkflow
from common.errors import DocumentNotFound


def published_page(workflow: DocumentWorkflow, document_id: str) -> str:
    """The last published version; `DocumentNotFound` for a document never published."""
    doc = workflow.document(document_id)
    if not doc.published_version:
        raise DocumentNotFound(f"Document {document_id} has not been published yet.")
    version = workflow.version(doc.id, doc.published_version)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/>'
        f"<title>{escape(version.title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:760px;color:#222}</style>"
        f"</head><body><h1>{escape(version.title)}</h1>"
        f"<p><small>{escape(doc.doc_type)} · {escape(doc.area)} · owner {escape(doc.owner)} · "
        f"version {version.number} of {version.created_at:%Y-%m-%d}</small></p>"
        f"{to_html(version.body)}</body></html>\n"
    )
