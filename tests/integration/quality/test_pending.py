"""Votes and reviews kept while Chroma is down: in a folder on one machine, in the bucket on Cloud Run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from common.config import load_settings
from common.quality.pending import PendingWrites, Review
from common.runtime.infra import build_record_files
from common.runtime.quality import build_pending_writes, build_quality_writer
from common.runtime.store import build_store
from tests.support.chunks import make_chunk
from tests.support.votes import vote


@pytest.fixture(params=["folder", "bucket"])
def pending(request: pytest.FixtureRequest) -> PendingWrites:
    if request.param == "bucket":
        request.getfixturevalue("gcs_bucket")
    return build_pending_writes(load_settings())


def test_kept_votes_are_counted_by_replay_and_then_forgotten(pending: PendingWrites) -> None:
    store = build_store(load_settings())
    store.upsert([make_chunk("p1", 0)])
    pending.keep_votes([vote("p1-0", user="U1"), vote("p1-0", user="U2")])

    replayed = pending.replay(build_quality_writer(load_settings(), store))

    assert replayed.votes == 2
    assert store.get_metadata(ids=["p1-0"])["p1-0"].feedback_count == 2
    assert pending.count() == 0


def test_a_repeated_click_during_an_outage_is_kept_once(pending: PendingWrites) -> None:
    pending.keep_votes([vote("p1-0", user="U1")])
    pending.keep_votes([vote("p1-0", user="U1")])

    assert pending.count() == 1


def test_a_kept_review_is_applied_by_replay_at_the_time_it_was_given(pending: PendingWrites) -> None:
    store = build_store(load_settings())
    store.upsert([make_chunk("p1", 0), make_chunk("p1", 1)])
    pressed = datetime.now(UTC) - timedelta(minutes=5)
    pending.keep_review(Review(page_id="p1", reviewer="owner@larkspur.example", reviewed_at=pressed))

    replayed = pending.replay(build_quality_writer(load_settings(), store))

    assert [(review.page_id, chunks) for review, chunks in replayed.reviews] == [("p1", 2)]
    metas = store.get_metadata(where={"page_id": "p1"}).values()
    assert {(m.reviewed_by, m.reviewed_at) for m in metas} == {("owner@larkspur.example", pressed)}
    assert pending.count() == 0


def test_a_replayed_review_never_replaces_a_newer_one(pending: PendingWrites) -> None:
    store = build_store(load_settings())
    store.upsert([make_chunk("p1", 0)])
    writer = build_quality_writer(load_settings(), store)
    newer = datetime.now(UTC)
    writer.mark_reviewed("p1", reviewer="later@larkspur.example", at=newer)
    pending.keep_review(
        Review(page_id="p1", reviewer="earlier@larkspur.example", reviewed_at=newer - timedelta(hours=1))
    )

    pending.replay(writer)

    meta = store.get_metadata(ids=["p1-0"])["p1-0"]
    assert (meta.reviewed_by, meta.reviewed_at) == ("later@larkspur.example", newer)


def test_an_unreadable_kept_record_is_left_for_a_person_and_the_rest_replay(pending: PendingWrites) -> None:
    store = build_store(load_settings())
    store.upsert([make_chunk("p1", 0)])
    settings = load_settings()
    pending.keep_votes([vote("p1-0")])
    build_record_files(settings, "pending-votes").write("broken.json", b"{not json")

    replayed = pending.replay(build_quality_writer(settings, store))

    assert replayed.votes == 1
    assert pending.count() == 1


def test_the_bucket_is_used_when_one_is_configured(gcs_bucket: str, kb_home: object) -> None:
    build_pending_writes(load_settings()).keep_votes([vote("p1-0")])
    build_pending_writes(load_settings()).keep_review(
        Review(page_id="p1", reviewer="owner@larkspur.example", reviewed_at=datetime.now(UTC))
    )

    assert not (load_settings().kb_home / "pending-votes").exists()
    assert not (load_settings().kb_home / "pending-reviews").exists()
    assert build_pending_writes(load_settings()).count() == 2
