"""`chunks_by_page`, which the review queue and the possibly obsolete pages both judge pages by: every chunk
in the embedded store gathered under its page, read a batch at a time."""

from __future__ import annotations

from common.config import load_settings
from common.quality.page_chunks import chunks_by_page
from common.runtime.store import build_store
from common.store.chunk_store import READ_PAGE_SIZE, ChunkStore
from tests.support.chunks import make_chunk

PRIYA = "priya.raman@larkspur.example"
TOM = "tom.okafor@larkspur.example"
CHUNKS_PER_PAGE = 7


def _store() -> ChunkStore:
    return build_store(load_settings())


def test_a_pages_chunks_stay_together_when_the_store_is_read_in_several_batches() -> None:
    store = _store()
    pages = READ_PAGE_SIZE // CHUNKS_PER_PAGE + 1  # the last page's chunks straddle the first batch's end
    store.upsert([make_chunk(f"p{page}", index) for page in range(pages) for index in range(CHUNKS_PER_PAGE)])

    grouped = chunks_by_page(store)

    assert len(grouped) == pages
    assert {len(chunks) for chunks in grouped.values()} == {CHUNKS_PER_PAGE}
    assert all({meta.page_id for meta in chunks} == {page_id} for page_id, chunks in grouped.items())


def test_only_the_owners_pages_are_kept_whatever_the_case_of_the_email() -> None:
    store = _store()
    store.upsert([make_chunk("p1", 0, owner=PRIYA), make_chunk("p1", 1, owner=PRIYA)])
    store.upsert([make_chunk("p2", 0, owner=TOM)])

    grouped = chunks_by_page(store, owner=PRIYA.upper())

    assert list(grouped) == ["p1"] and len(grouped["p1"]) == 2


def test_an_empty_store_has_no_pages() -> None:
    assert chunks_by_page(_store()) == {}
