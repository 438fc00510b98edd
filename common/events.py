"""Analytics events and the interface that carries them off the user's path.

Every event has a unique `event_id` (so a consumer can drop duplicates), a `kind` with a schema `version`,
the time it happened, and the ids that join it to others. Publishers never block or fail a user-facing
request: `publish` must return quickly and keep what it could not deliver.

The embedded default, `SpoolPublisher`, appends JSON lines to a spool under KB_HOME; the Pub/Sub
publisher and the ingest job that empties spools into DuckDB belong to the analytics work.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

from common.logs import get_logger

log = get_logger(__name__)


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
    """One retrieval mode's scores from a `kb eval` run."""

    kind: ClassVar[str] = "eval_result"
    run_id: str
    dataset: str
    qrels: str
    mode: str
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    queries: int


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
    """`source_click`, `follow_up`, `reaction`."""
    answer_id: str
    user_id: str
    detail: str = ""


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


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityReport(Event):
    """A snapshot of the collection's quality after a decay run: aggregates only, no per-chunk score."""

    kind: ClassVar[str] = "quality_report"
    chunks: int
    mean: float
    p10: float
    p50: float
    p90: float
    overdue: int
    below_threshold: int
    verified: int


def pseudonymous_user(user_id: str, salt: str) -> str:
    """Analytics can count people without naming them: a salted hash, stable for one deployment."""
    if not salt:
        return user_id
    return hashlib.sha256(f"{salt}\x1f{user_id}".encode()).hexdigest()[:20]


class EventPublisher(Protocol):
    def publish(self, events: Sequence[Event]) -> None:
        """Hand events over for delivery; returns quickly and never raises for a delivery problem."""
        ...


class PseudonymisingPublisher:
    """Replaces every event's `user_id` with its salted hash before it leaves the process, so no producer
    can forget to (ANALYTICS_USER_SALT)."""

    def __init__(self, inner: EventPublisher, *, salt: str) -> None:
        self._inner = inner
        self._salt = salt

    def publish(self, events: Sequence[Event]) -> None:
        self._inner.publish([self._pseudonymised(event) for event in events])

    def _pseudonymised(self, event: Event) -> Event:
        user_id = getattr(event, "user_id", None)
        if not isinstance(user_id, str):
            return event
        changes: dict[str, Any] = {"user_id": pseudonymous_user(user_id, self._salt)}
        return replace(event, **changes)


class SpoolPublisher:
    """Appends events as JSON lines to one file per UTC day under `directory`; safe across threads.

    Events it cannot write (disk full, folder unwritable) stay in a backlog that every later `publish`
    and `flush` tries first, so a failure delays events but does not drop them while the process lives.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._lock = threading.Lock()
        self._backlog: list[Event] = []

    @property
    def backlog(self) -> int:
        return len(self._backlog)

    def publish(self, events: Sequence[Event]) -> None:
        with self._lock:
            self._backlog.extend(events)
            self._write_backlog()

    def flush(self) -> None:
        with self._lock:
            self._write_backlog()

    def _write_backlog(self) -> None:
        if not self._backlog:
            return
        lines = "".join(json.dumps(event.to_record(), ensure_ascii=False) + "\n" for event in self._backlog)
        path = self._directory / f"events-{datetime.now(UTC):%Y-%m-%d}.jsonl"
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as spool:
                spool.write(lines)
        except OSError as exc:
            log.error("events_not_spooled_yet", path=str(path), events=len(self._backlog), error=str(exc))
            return
        self._backlog.clear()
