"""Documents written from Slack: what they are, the rules for each type, and the states one goes through.

A document is drafted, submitted and then either published at once (`guideline`, `information`) or reviewed
by the approvers of its area first (`policy`, `procedure`). Every edit is a new version; a decision applies
to exactly one version, so an approval can never publish text the approver did not see.

    draft ─submit─► in_review ─approve─► approved ─publish─► published
                        │  └─request changes─► changes_requested ─revise─► in_review
                        └─reject─► rejected
    guideline / information:  submit ─► approved ─publish─► published
    a published document revised ─► in_review (policy, procedure) or approved (the others)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from common.store.chunk import Classification

DocType = Literal["policy", "procedure", "guideline", "information"]
DOC_TYPES: tuple[DocType, ...] = get_args(DocType)
APPROVED_TYPES: frozenset[DocType] = frozenset({"policy", "procedure"})
"""Types whose versions the area's approvers must approve before they are published."""

Status = Literal["draft", "in_review", "changes_requested", "approved", "published", "rejected"]
STATUSES: tuple[Status, ...] = get_args(Status)
DecisionKind = Literal["approve", "request_changes", "reject"]
DECISIONS: tuple[DecisionKind, ...] = get_args(DecisionKind)


def needs_approval(doc_type: DocType) -> bool:
    return doc_type in APPROVED_TYPES


@dataclass(frozen=True, slots=True)
class Area:
    """A part of the company with its own approvers, and where its documents are published."""

    name: str
    approvers: tuple[str, ...]
    """Slack user ids."""
    space_key: str
    parent_page_id: str = ""
    """The Confluence page new documents go under; empty: the space's top level."""


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    title: str
    area: str
    doc_type: DocType
    classification: Classification
    owner: str
    """Who owns the content once published: an email when known (owners are found on Slack by it)."""
    author: str
    """The Slack user id (or CLI user) who started it."""
    status: Status
    version: int
    """The current version's number."""
    created_at: datetime
    updated_at: datetime
    source_link: str = ""
    """The Slack thread it was drafted from, if any."""
    published_version: int = 0
    page_id: str = ""
    page_url: str = ""
    publish_error: str = ""
    """Why the last publishing attempt failed (Confluence down or refusing); empty when it did not."""


@dataclass(frozen=True, slots=True)
class DocumentVersion:
    document_id: str
    number: int
    title: str
    body: str
    """Markdown."""
    body_hash: str
    editor: str
    created_at: datetime
    change_note: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    document_id: str
    version: int
    approver: str
    kind: DecisionKind
    reason: str
    decided_at: datetime
