"""`kb review-queue`, `kb decay` and the quality_decay job, run through their real entry points."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from common.cli.main import main
from common.config import load_settings
from common.runtime.quality import build_pending_writes, build_quality_writer
from common.runtime.store import build_store
from common.store.chunk_store import ChunkStore
from jobs import quality_decay
from tests.support.chunks import make_chunk
from tests.support.votes import vote

NOW = datetime.now(UTC)
PRIYA = "priya.raman@larkspur.example"
TOM = "tom.becker@larkspur.example"


@pytest.fixture
def store() -> ChunkStore:
    store = build_store(load_settings())
    store.upsert(
        [
            make_chunk("fresh", 0, updated_at=NOW, owner=PRIYA, page_title="Fresh"),
            make_chunk("stale", 0, updated_at=NOW - timedelta(days=200), owner=PRIYA, page_title="Stale"),
            make_chunk(
                "very-stale", 0, updated_at=NOW - timedelta(days=400), owner=TOM, page_title="Very stale"
            ),
            make_chunk("disliked", 0, updated_at=NOW, owner=TOM, page_title="Disliked"),
        ]
    )
    return store


def _json(args: list[str]) -> object:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_review_queue_lists_stale_and_low_quality_pages_worst_first(store: ChunkStore) -> None:
    build_quality_writer(load_settings(), store).record_votes(
        [vote("disliked-0", page_id="disliked", user=f"U{n}", kind="incorrect") for n in range(3)]
    )
    _json(["decay", "--json"])

    queue = _json(["review-queue", "--json"])["pages"]

    assert isinstance(queue, list)
    assert [page["page_id"] for page in queue] == ["disliked", "very-stale", "stale"]
    assert queue[1]["overdue_days"] == 310


def test_the_review_queue_can_be_narrowed_to_one_owner(store: ChunkStore) -> None:
    queue = _json(["review-queue", "--owner", TOM, "--json"])["pages"]

    assert isinstance(queue, list)
    assert {page["owner"] for page in queue} == {TOM}


def test_kb_decay_is_idempotent_on_one_day(store: ChunkStore) -> None:
    first = _json(["decay", "--json"])
    second = _json(["decay", "--json"])

    assert isinstance(first, dict) and isinstance(second, dict)
    assert first["chunks_updated"] == 2
    assert second["chunks_updated"] == 0


def test_the_decay_job_counts_votes_kept_during_an_outage_first(store: ChunkStore) -> None:
    build_pending_writes(load_settings()).keep_votes([vote("fresh-0", page_id="fresh")])

    assert quality_decay.main() == 0

    assert store.get_metadata(ids=["fresh-0"])["fresh-0"].feedback_count == 1
    assert build_pending_writes(load_settings()).count() == 0
