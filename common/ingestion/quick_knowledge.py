"""Quick knowledge: something said in Slack, saved as a knowledge-base entry and searchable at once.

An entry goes through the same pipeline as a Confluence page (chunk, enrich, embed, write), as a page of
source `slack` owned by whoever saved it and linking back to the message, so everything downstream (ranking,
feedback, decay, review reminders) treats it like any other content.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from datetime import UTC, datetime

from common.confluence.models import Person, SourcePage
from common.errors import KbError
from common.ingestion.indexer import Indexer, PageOutcome
from common.store.chunk import Classification

QUICK_KNOWLEDGE_LABEL = "quick-knowledge"
MAX_TEXT_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class QuickEntry:
    title: str
    text: str
    space_key: str
    topics: tuple[str, ...]
    classification: Classification
    author_email: str
    author_name: str
    link: str
    """The Slack message it came from, or where it was added."""

    @property
    def page_id(self) -> str:
        return "slack-" + hashlib.sha256(f"{self.link}\x1f{self.title}".encode()).hexdigest()[:16]


def entry_page(entry: QuickEntry, *, now: datetime | None = None) -> SourcePage:
    now = now or datetime.now(UTC)
    author = Person(name=entry.author_name, email=entry.author_email or None)
    paragraphs = [p.strip() for p in entry.text[:MAX_TEXT_CHARS].split("\n\n") if p.strip()]
    body = "".join(f"<p>{html.escape(p).replace(chr(10), '<br/>')}</p>" for p in paragraphs)
    return SourcePage(
        page_id=entry.page_id,
        space_key=entry.space_key,
        title=entry.title,
        url=entry.link,
        version=1,
        body_storage=body,
        author=author,
        last_editor=author,
        created_at=now,
        updated_at=now,
        labels=(QUICK_KNOWLEDGE_LABEL, *entry.topics),
        classification=entry.classification,
    )


def save_entry(indexer: Indexer, entry: QuickEntry) -> PageOutcome:
    """Write the entry's chunks to Chroma now; an entry that yields nothing to index is an error."""
    if not entry.title.strip() or not entry.text.strip():
        raise KbError("A knowledge entry needs a title and some text.")
    outcomes = list(indexer.index([entry_page(entry)]))
    outcome = outcomes[0]
    if outcome.error:
        raise KbError(f"The entry could not be saved: {outcome.error}")
    return outcome
