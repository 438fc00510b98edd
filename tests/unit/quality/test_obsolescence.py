"""Which pages may be obsolete and why, over the real embedded store: each reason alone, its threshold, and
several at once."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.config import load_settings
from common.quality.obsolescence import ObsoletePage, PageUsage, obsolete_pages
from common.runtime.quality import build_quality_policy
from common.runtime.store import build_store
from common.store.chunk import Chunk
from common.store.chunk_store import ChunkStore
from tests.support.chunks import make_chunk

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
RECENT = NOW - timedelta(days=30)
PRIYA = "priya.raman@larkspur.example"
TOM = "tom.okafor@larkspur.example"


@pytest.fixture
def store() -> ChunkStore:
    return build_store(load_settings())


def _page(page_id: str, *, chunks: int = 1, **fields: Any) -> list[Chunk]:
    values: dict[str, Any] = {"updated_at": RECENT, "page_title": f"Page {page_id}", **fields}
    return [make_chunk(page_id, index, **values) for index in range(chunks)]


def _obsolete(
    store: ChunkStore, usage: Mapping[str, PageUsage] | None = None, **options: str
) -> list[ObsoletePage]:
    return obsolete_pages(
        store,
        build_quality_policy(load_settings()),
        usage or {},
        now=NOW,
        after_days=730,
        min_shown=10,
        **options,
    )


def _reasons(store: ChunkStore, usage: Mapping[str, PageUsage] | None = None) -> dict[str, tuple[str, ...]]:
    return {page.page_id: page.reasons for page in _obsolete(store, usage)}


def test_a_page_not_updated_in_the_set_time_is_listed_with_its_age(store: ChunkStore) -> None:
    store.upsert([*_page("old", updated_at=NOW - timedelta(days=812)), *_page("young")])

    assert _reasons(store) == {"old": ("not updated in 812 days",)}


def test_a_page_exactly_as_old_as_the_set_time_is_listed(store: ChunkStore) -> None:
    store.upsert(_page("edge", updated_at=NOW - timedelta(days=730)))

    assert _reasons(store) == {"edge": ("not updated in 730 days",)}


def test_an_owners_recent_review_keeps_an_old_page_off_the_list(store: ChunkStore) -> None:
    store.upsert(
        _page("reviewed", updated_at=NOW - timedelta(days=900), reviewed_at=RECENT, reviewed_by=PRIYA)
    )

    assert _reasons(store) == {}


def test_an_old_review_of_an_older_page_counts_from_the_review(store: ChunkStore) -> None:
    store.upsert(
        _page(
            "stale",
            updated_at=NOW - timedelta(days=900),
            reviewed_at=NOW - timedelta(days=800),
            reviewed_by=PRIYA,
        )
    )

    assert _reasons(store) == {"stale": ("not updated or reviewed in 800 days",)}


def test_a_page_whose_lowest_chunk_is_under_the_threshold_is_listed(store: ChunkStore) -> None:
    store.upsert([*_page("weak", chunks=2), make_chunk("weak", 2, updated_at=RECENT, quality_score=24.0)])

    assert _reasons(store) == {"weak": ("quality 24 < 30",)}


def test_more_than_half_of_the_votes_negative_lists_a_page(store: ChunkStore) -> None:
    store.upsert([*_page("disliked"), *_page("divided")])
    usage = {
        "disliked": PageUsage(votes=6, negative_votes=4),
        "divided": PageUsage(votes=6, negative_votes=3),
    }

    assert _reasons(store, usage) == {"disliked": ("4 of 6 votes negative",)}


def test_a_page_shown_often_and_never_opened_is_listed(store: ChunkStore) -> None:
    store.upsert([*_page("ignored"), *_page("opened"), *_page("rare")])
    usage = {
        "ignored": PageUsage(shown=14),
        "opened": PageUsage(shown=14, source_clicks=1),
        "rare": PageUsage(shown=9),
    }

    assert _reasons(store, usage) == {"ignored": ("shown 14 times, never opened",)}


def test_every_reason_that_holds_is_given_and_the_page_comes_first(store: ChunkStore) -> None:
    store.upsert(
        [
            *_page("a-one-reason", quality_score=20.0),
            *_page("z-every-reason", updated_at=NOW - timedelta(days=812), quality_score=24.0),
        ]
    )
    usage = {"z-every-reason": PageUsage(shown=14, votes=6, negative_votes=4)}

    pages = _obsolete(store, usage)

    assert [page.page_id for page in pages] == ["z-every-reason", "a-one-reason"]
    assert pages[0].reasons == (
        "not updated in 812 days",
        "quality 24 < 30",
        "4 of 6 votes negative",
        "shown 14 times, never opened",
    )


def test_the_list_can_be_narrowed_to_one_owner(store: ChunkStore) -> None:
    store.upsert(
        [*_page("mine", quality_score=10.0, owner=PRIYA), *_page("theirs", quality_score=10.0, owner=TOM)]
    )

    assert [page.page_id for page in _obsolete(store, owner=TOM.upper())] == ["theirs"]


def test_a_listed_page_says_whether_it_is_restricted(store: ChunkStore) -> None:
    store.upsert(_page("secret", quality_score=10.0, read_rules=({"groups": ["hr"]},)))

    [page] = _obsolete(store)

    assert page.restricted
