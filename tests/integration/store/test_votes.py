"""Votes stored so a chunk's tally reads from record ids alone: one vote per person, answer and chunk, the
newest click counting, older records removed, and records from before this form rewritten when read."""

from __future__ import annotations

import hashlib
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.config import load_settings
from common.runtime.store import build_store
from common.store.chunk_store import ChunkStore
from common.store.companions import VOTES, CompanionRecords
from common.store.votes import Tally, VoteStore
from tests.support.chroma_server import ChromaServer
from tests.support.votes import vote

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["embedded", "server"])
def store(request: pytest.FixtureRequest, kb_home: Path) -> ChunkStore:
    if request.param == "embedded":
        return build_store(load_settings())
    server: ChromaServer = request.getfixturevalue("chroma_server")
    return build_store(load_settings(chroma_url=server.url, chroma_collection=f"v-{uuid.uuid4().hex[:8]}"))


def _record_ids(store: ChunkStore) -> list[str]:
    return [record_id for page in CompanionRecords(store, VOTES).pages(1000) for record_id in page]


def test_a_tally_counts_each_kind_and_every_vote(store: ChunkStore) -> None:
    votes = VoteStore(store)
    votes.put([vote("c1", user="U1"), vote("c1", user="U2"), vote("c1", user="U3", kind="incorrect")])

    assert votes.tallies(["c1", "c2"]) == {
        "c1": Tally(counted=(("helpful", 2), ("incorrect", 1)), total=3),
        "c2": Tally(counted=(), total=0),
    }


def test_a_double_click_leaves_one_record_that_counts_once(store: ChunkStore) -> None:
    votes = VoteStore(store)
    votes.put([vote("c1", at=AT)])
    votes.put([vote("c1", at=AT + timedelta(milliseconds=300))])

    assert votes.tallies(["c1"])["c1"] == Tally(counted=(("helpful", 1),), total=1)
    assert len(_record_ids(store)) == 1


def test_a_changed_vote_replaces_the_earlier_one(store: ChunkStore) -> None:
    votes = VoteStore(store)
    votes.put([vote("c1", kind="helpful", at=AT)])
    votes.put([vote("c1", kind="outdated", at=AT + timedelta(seconds=5), comment="The VPN client changed")])

    assert votes.tallies(["c1"])["c1"] == Tally(counted=(("outdated", 1),), total=1)
    [kept] = votes.for_chunks(["c1"])["c1"]
    assert (kept.kind, kept.comment) == ("outdated", "The VPN client changed")


def test_an_older_click_arriving_late_does_not_replace_a_newer_one(store: ChunkStore) -> None:
    votes = VoteStore(store)
    votes.put([vote("c1", kind="not_helpful", at=AT + timedelta(seconds=5))])
    votes.put([vote("c1", kind="helpful", at=AT)])

    assert votes.tallies(["c1"])["c1"] == Tally(counted=(("not_helpful", 1),), total=1)


def test_a_resolved_outdated_vote_still_counts_toward_the_total_but_not_the_score(store: ChunkStore) -> None:
    votes = VoteStore(store)
    votes.put([vote("c1", kind="outdated", at=AT), vote("c1", user="U2", at=AT)])

    assert votes.resolve_outdated(["c1"]) == 1

    assert votes.tallies(["c1"])["c1"] == Tally(counted=(("helpful", 1),), total=2)
    assert len(_record_ids(store)) == 2


def test_moved_votes_follow_their_text_to_the_new_chunk(store: ChunkStore) -> None:
    votes = VoteStore(store)
    votes.put([vote("old", user="U1"), vote("old", user="U2", kind="incorrect")])

    assert votes.reassign({"old": "new"}) == 2

    assert votes.tallies(["old", "new"]) == {
        "old": Tally(counted=(), total=0),
        "new": Tally(counted=(("helpful", 1), ("incorrect", 1)), total=2),
    }


def test_a_record_stored_before_ids_carried_the_tally_is_rewritten_when_read(store: ChunkStore) -> None:
    legacy = vote("c1", kind="incorrect", at=AT)
    record = legacy.to_record()
    del record["vote_id"]
    legacy_id = hashlib.sha256(f"{legacy.answer_id}\x1f{legacy.user_id}\x1fc1".encode()).hexdigest()[:32]
    CompanionRecords(store, VOTES).put({legacy_id: record})

    assert VoteStore(store).tallies(["c1"])["c1"] == Tally(counted=(("incorrect", 1),), total=1)
    [rewritten] = _record_ids(store)
    assert rewritten.startswith(f"c1~{legacy.vote_id[:16]}~") and rewritten.endswith("i")
    assert VoteStore(store).for_chunks(["c1"])["c1"] == [legacy]


def test_racing_clicks_of_one_person_leave_exactly_their_newest_vote(store: ChunkStore) -> None:
    """16 threads replay one person's 160 clicks, alternating kinds, in shuffled order: whatever the
    interleaving, one record is left and it is the last click's kind."""
    votes = VoteStore(store)
    clicks = [
        vote("c1", kind="helpful" if n % 2 else "not_helpful", at=AT + timedelta(milliseconds=n))
        for n in range(160)
    ]
    order = clicks[1::2] + clicks[::2]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda click: votes.put([click]), order))

    assert votes.tallies(["c1"])["c1"] == Tally(counted=(("helpful", 1),), total=1)
    assert len(_record_ids(store)) == 1
