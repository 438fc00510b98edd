"""Votes kept while Chroma is down: in a folder on one machine, in the bucket on Cloud Run."""

from __future__ import annotations

import pytest

from common.config import load_settings
from common.pending_votes import PendingVotes
from common.runtime import build_pending_votes, build_quality_writer
from common.vectorstore import ChunkStore
from tests.support.chunks import make_chunk
from tests.support.votes import vote


@pytest.fixture(params=["folder", "bucket"])
def pending(request: pytest.FixtureRequest) -> PendingVotes:
    if request.param == "bucket":
        request.getfixturevalue("gcs_bucket")
    return build_pending_votes(load_settings())


def test_kept_votes_are_counted_by_replay_and_then_forgotten(pending: PendingVotes) -> None:
    store = ChunkStore.from_settings(load_settings())
    store.upsert([make_chunk("p1", 0)])
    pending.keep([vote("p1-0", user="U1"), vote("p1-0", user="U2")])

    replayed = pending.replay(build_quality_writer(load_settings(), store))

    assert replayed == 2
    assert store.get_metadata(ids=["p1-0"])["p1-0"].feedback_count == 2
    assert pending.count() == 0


def test_a_repeated_click_during_an_outage_is_kept_once(pending: PendingVotes) -> None:
    pending.keep([vote("p1-0", user="U1")])
    pending.keep([vote("p1-0", user="U1")])

    assert pending.count() == 1


def test_the_bucket_is_used_when_one_is_configured(gcs_bucket: str, kb_home: object) -> None:
    build_pending_votes(load_settings()).keep([vote("p1-0")])

    assert not (load_settings().kb_home / "pending-votes").exists()
    assert build_pending_votes(load_settings()).count() == 1
