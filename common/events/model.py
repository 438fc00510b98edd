"""Analytics events: plain typed values that every part of the product produces.

Every event has a unique `event_id` (so a consumer can drop duplicates), a `kind` with a schema `version`,
the time it happened, and the ids that join it to others. `to_record` is their one wire format (JSON
lines in the spool, Pub/Sub message data); `common.analytics.schema` maps each kind onto its DuckDB table.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    kind: ClassVar[str]
    version: ClassVar[int] = 1
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["occurred_at"] = self.occurred_at.isoformat()
        return {"kind": self.kind, "version": self.version, **record}


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkAccessed(Event):
    """A chunk was shown to someone as a search result."""

    kind: ClassVar[str] = "chunk_access"
    chunk_id: str
    page_id: str
    query_id: str
    rank: int
    source: str
    """Where it was shown: `search_api`, `cli`, `slack`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EvalResult(Event):
    """Scores from one evaluation: a `kb eval` mode on a BEIR collection, a golden-questions run, or one
    re-run question of the nightly evaluation. Each fills the metrics that apply to it; the rest stay None."""

    kind: ClassVar[str] = "eval_result"
    run_id: str
    dataset: str
    """The BEIR corpus folder's name, `golden:<file name>` or `nightly`."""
    qrels: str = ""
    mode: str
    """The retrieval mode (`dense`, `keyword`, `hybrid`) or, for judged answers, `answer`."""
    queries: int
    ndcg_at_10: float | None = None
    recall_at_100: float | None = None
    mrr_at_10: float | None = None
    hit_at_1: float | None = None
    hit_at_3: float | None = None
    hit_at_5: float | None = None
    mrr_at_5: float | None = None
    cited: float | None = None
    """Share of answers citing an expected page (golden questions)."""
    declined: float | None = None
    """Share of `expect_decline` questions the bot declined (golden questions)."""
    question_id: str = ""
    """The re-run question (nightly); empty for a whole run."""
    groundedness: float | None = None
    relevance: float | None = None
    completeness: float | None = None
    judge: str = ""
    """Who scored the answer: `offline` (the embedding model) or `llm:<model>`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UserFeedback(Event):
    """A person rated an answer's use of a chunk (one event per vote, replacing votes included)."""

    kind: ClassVar[str] = "user_feedback"
    vote_id: str
    chunk_id: str
    page_id: str
    answer_id: str
    user_id: str
    vote: str
    comment: str
    question: str
    quality_before: float | None
    quality_after: float | None
    """None when Chroma was down and the vote was kept for replay."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BehaviouralSignal(Event):
    """Something people did around an answer that hints at its quality; analytics only, never ranking."""

    kind: ClassVar[str] = "behavioural_signal"
    signal: str
    """One of `common.slack.signals.SIGNALS`: `source_click`, `reaction_positive`, `reaction_negative`,
    `reaction_removed`, `gratitude`, `frustration`, `follow_up`, `rephrase`."""
    answer_id: str
    user_id: str
    detail: str = ""
    """The clicked URL, the reaction's name, or nothing (a thread reply's text stays in Slack)."""
    chunk_ids: list[str] = field(default_factory=list)
    """The chunks the answer cited."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnerNotified(Event):
    kind: ClassVar[str] = "owner_notified"
    owner: str
    page_id: str
    reason: str
    slack_user_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnerUnreachable(Event):
    """An owner who should have been told about a problem could not be found on Slack."""

    kind: ClassVar[str] = "owner_unreachable"
    owner: str
    page_id: str
    reason: str
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PageReviewed(Event):
    kind: ClassVar[str] = "page_reviewed"
    page_id: str
    reviewer: str
    chunks: int


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryRecord(Event):
    """A question asked (Slack) or a search run (API, CLI)."""

    kind: ClassVar[str] = "query_record"
    question_id: str
    user_id: str
    """Pseudonymised on publishing when ANALYTICS_USER_SALT is set."""
    channel_type: str
    query: str
    results: int
    top_score: float
    latency_ms: float
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BotResponse(Event):
    """What the bot answered to a question (the answer text itself stays in Slack)."""

    kind: ClassVar[str] = "bot_response"
    answer_id: str
    question_id: str
    writer: str
    grounded: bool
    cited_chunk_ids: list[str]
    latency_ms: float
    used_restricted: bool = False
    """Whether a restricted page was among what the answer was written from (never which, nor its text)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityReport(Event):
    """A snapshot of quality: of the collection's chunks after a decay run (`report` "decay"), or of the
    answers after a nightly evaluation (`report` "evaluation"). Aggregates only, never a per-chunk score."""

    kind: ClassVar[str] = "quality_report"
    report: str = "decay"
    chunks: int = 0
    mean: float | None = None
    p10: float | None = None
    p50: float | None = None
    p90: float | None = None
    overdue: int = 0
    below_threshold: int = 0
    verified: int = 0
    answers_evaluated: int = 0
    groundedness: float | None = None
    relevance: float | None = None
    completeness: float | None = None
    golden_hit_at_3: float | None = None
    alerts: list[str] = field(default_factory=list)
    """What fell under its target or dropped more than the allowed share week on week, in words."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentChanged(Event):
    """A document moved through the workflow (`transition`): created, approved, published, ..."""

    kind: ClassVar[str] = "document"
    document_id: str
    transition: str
    actor: str
    status: str
    title: str
    area: str
    doc_type: str
    classification: str
    document_version: int
    owner: str
    page_id: str
    """The Confluence page, once published there; empty before."""
    space_key: str
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentVersionCreated(Event):
    kind: ClassVar[str] = "document_version"
    document_id: str
    page_id: str
    page_version: int
    """The document's version number (`version` is the event's own schema version)."""
    updated_at: str
    body_hash: str
    editor: str
    change_note: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AreaApproverChanged(Event):
    kind: ClassVar[str] = "area_approver"
    area: str
    space_key: str
    approver: str
    action: str
    """`added` or `removed`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UserConfluenceLinkChanged(Event):
    """A Slack user linked to a Confluence account, or unlinked."""

    kind: ClassVar[str] = "user_confluence_link"
    slack_user_id: str
    """Pseudonymised on publishing when ANALYTICS_USER_SALT is set."""
    confluence_account_id: str
    method: str
    """`email`, `oauth` or `pat`."""
    action: str
    """`linked` or `unlinked`."""
    email: str = ""
    """Always empty: analytics keeps no email addresses (the column is the plan's)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PageEscalated(Event):
    """The knowledge admins were asked to act on a page (`reason` `negative_reports` or `owner_unreachable`),
    or one of them did (`action` `reviewed`, `reassigned`, `archived`, `restored`, `dismissed`)."""

    kind: ClassVar[str] = "page_escalation"
    page_id: str
    reason: str
    action: str
    """`posted` when the escalation was sent, else what the admin chose."""
    actor: str = ""
    detail: str = ""
