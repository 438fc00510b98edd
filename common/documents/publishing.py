"""Publishing an approved version where everyone reads: a Confluence page, or (the embedded default, no
Confluence) the knowledge base itself.

Either way the version is indexed at once through the same pipeline as any page, so it is searchable
within seconds of its approval:

- `ConfluencePublisher` writes the page (created once, in the area's space under its parent; a later
  approved version updates it, a new Confluence version), labels it (`kb-doc`, `kb-doc-<id>`,
  `owner-<owner>`, its classification), reads it back as the sync reads pages and indexes that: the next
  sync finds the page already indexed at its version and writes nothing. It is indexed with who may read
  it (the space's, its ancestors' and its own restrictions), as the sync would. A publish that died after
  creating the page finds it again by its `kb-doc-<id>` label instead of creating another.
- `IndexPublisher` indexes the version as a page of source `folder` in the area's space.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from common.confluence.models import Person, SourcePage
from common.confluence.rest_mapping import owner_label
from common.confluence.rest_source import RestPageSource
from common.documents.markdown import to_storage_format
from common.documents.model import Area, Document, DocumentVersion
from common.errors import DocumentRefused, PublishFailed, ServiceUnavailable, SourceError
from common.ingestion.indexer import Indexer
from common.ingestion.page_access import page_rules
from common.store.access import ReadRule

DOCUMENT_LABEL = "kb-doc"


@dataclass(frozen=True, slots=True)
class Published:
    page_id: str
    url: str


class Publisher(Protocol):
    def publish(self, doc: Document, version: DocumentVersion, area: Area) -> Published:
        """Raises `PublishFailed` when the destination is down or refuses; nothing was recorded then."""
        ...


def labels_for(doc: Document) -> tuple[str, ...]:
    return (DOCUMENT_LABEL, f"{DOCUMENT_LABEL}-{doc.id}", owner_label(doc.owner), doc.classification)


class ConfluencePublisher:
    def __init__(self, *, confluence: RestPageSource, indexer: Callable[[], Indexer]) -> None:
        self._confluence = confluence
        self._indexer = indexer

    def publish(self, doc: Document, version: DocumentVersion, area: Area) -> Published:
        if area.space_key not in self._confluence.space_keys():
            raise PublishFailed(
                f"The {area.name} area publishes to Confluence space {area.space_key}, which the knowledge "
                "base does not sync: add it to CONFLUENCE_SPACES, or point the area at a synced space with "
                f"`kb approvers set {area.name} … --space KEY`."
            )
        try:
            page_id = doc.page_id or self._confluence.find_labelled_page(
                area.space_key, f"{DOCUMENT_LABEL}-{doc.id}"
            )
            page_id = self._confluence.write_page(
                space_key=area.space_key,
                title=version.title,
                body=to_storage_format(version.body),
                parent_id=area.parent_page_id,
                labels=labels_for(doc),
                page_id=page_id,
                comment=f"Version {version.number} of the document, approved in the knowledge base"
                + (f": {version.change_note}" if version.change_note else ""),
            )
            page = self._confluence.get_page(page_id)
            page = replace(page, read_rules=self._rules(page))
        except ServiceUnavailable as exc:
            raise PublishFailed(f"Confluence is unavailable, so “{doc.title}” waits: {exc}") from exc
        except SourceError as exc:
            raise PublishFailed(f"Confluence refused “{doc.title}”: {exc}") from exc
        _index(self._indexer(), page, doc)
        return Published(page_id=page.page_id, url=page.url)

    def _rules(self, page: SourcePage) -> tuple[ReadRule, ...]:
        """Who may read the page, as the next sync will find: its ancestors' and the space's restrictions
        too, so a page under a restricted parent is never indexed as open, not even until that sync."""
        ancestors = {
            ref.page_id: ref
            for ref in (self._confluence.page_ref(a, space_key=page.space_key) for a in page.ancestor_ids)
        }
        space = self._confluence.space_read_rule(page.space_key)
        return page_rules(page.read_rule, page.ancestor_ids, listed=ancestors, space=space)


class IndexPublisher:
    def __init__(self, *, indexer: Callable[[], Indexer], link_base: str) -> None:
        self._indexer = indexer
        self._link_base = link_base.rstrip("/")

    def publish(self, doc: Document, version: DocumentVersion, area: Area) -> Published:
        owner = Person(name=doc.owner, email=doc.owner if "@" in doc.owner else None)
        page = SourcePage(
            page_id=f"doc-{doc.id}",
            space_key=area.space_key,
            title=version.title,
            url=f"{self._link_base}/{doc.id}",
            version=version.number,
            body_storage=to_storage_format(version.body),
            author=owner,
            last_editor=owner,
            created_at=doc.created_at,
            updated_at=version.created_at,
            labels=labels_for(doc),
            owner=owner,
            classification=doc.classification,
        )
        _index(self._indexer(), page, doc)
        return Published(page_id=page.page_id, url=page.url)


def _index(indexer: Indexer, page: SourcePage, doc: Document) -> None:
    try:
        [outcome] = list(indexer.index([page]))
    except ServiceUnavailable as exc:
        raise PublishFailed(f"The knowledge base is unavailable, so “{doc.title}” waits: {exc}") from exc
    if outcome.error:
        raise DocumentRefused(f"“{doc.title}” could not be indexed: {outcome.error}")
