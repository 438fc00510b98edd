"""What knowledge admins decide about a whole page: hide it from answers (reversibly), or give it a new owner.

Stored on every chunk of the page as learned fields (`common.store.chunk.PAGE_DECISION_FIELDS`), so a
re-sync keeps the decision and a chunk the sync adds inherits it. Chroma merges metadata keys on update, so
writing these never races with the quality writer's fields.
"""

from __future__ import annotations

from common.errors import PageDecisionRefused
from common.logs import get_logger
from common.store.chunk_store import ChunkStore

log = get_logger(__name__)


class PageDecisions:
    def __init__(self, store: ChunkStore) -> None:
        self._store = store

    def archive(self, page_id: str) -> int:
        """Hide the page from every answer and search; returns the chunks hidden."""
        return self._set(page_id, {"archived": True})

    def restore(self, page_id: str) -> int:
        return self._set(page_id, {"archived": False})

    def assign_owner(self, page_id: str, owner: str) -> int:
        if "@" not in owner:
            raise PageDecisionRefused(f"A page owner is an email address; {owner!r} is not one.")
        return self._set(page_id, {"owner": owner, "assigned_owner": owner})

    def _set(self, page_id: str, fields: dict[str, object]) -> int:
        chunk_ids = list(self._store.get_metadata(where={"page_id": page_id}))
        if not chunk_ids:
            raise PageDecisionRefused(
                f"No page {page_id!r} in the knowledge base (deleted, or not synced yet)."
            )
        updated = self._store.batch_update_metadata(
            {chunk_id: fields for chunk_id in chunk_ids}, skip_missing=True
        )
        log.info("page_decision", page_id=page_id, fields=sorted(fields), chunks=updated)
        return updated
