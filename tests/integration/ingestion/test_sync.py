"""Syncing pages into Chroma: full metadata, nothing re-embedded without a change, learned state kept,
deletions and restrictions reconciled safely, and a run that failed halfway finished by the next one."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from common.config import Settings, load_settings
from common.confluence.folder_source import FolderPageSource
from common.confluence.models import PageRef, SourcePage
from common.errors import SourceError, StoreUnavailable
from common.ingestion.sync import SyncSummary
from common.quality.page_decisions import PageDecisions
from common.quality.writer import QualityWriter
from common.runtime.ingestion import build_synchronizer
from common.runtime.quality import build_quality_writer
from common.runtime.store import build_store
from common.store.access import ReadRule
from common.store.chunk import NEUTRAL_QUALITY_SCORE, ChunkMetadata
from common.store.chunk_store import ChunkStore
from common.store.sync_state import SyncCursors
from tests.support.chroma_server import ChromaServer
from tests.support.sample_space import (
    IT_SECTION,
    SAMPLE_SPACE,
    copy_sample_space,
    delete_page,
    edit_page,
    page_files,
    read_meta,
    write_meta,
)
from tests.support.votes import vote

RESTRICTED = {"1213", "1214", "1313"}
VPN = "1101"


def _sync(settings: Settings, folder: Path, *, full: bool = False) -> SyncSummary:
    source = FolderPageSource(folder)
    return build_synchronizer(settings, source=source, store=build_store(settings)).run(full=full)


@pytest.fixture(scope="session")
def synced_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One full sync of the sample space, copied by every test that needs a synced store."""
    home = tmp_path_factory.mktemp("synced") / "kb-home"
    summary = _sync(load_settings(kb_home=home), SAMPLE_SPACE)
    assert summary.errors == 0, summary.error_details
    return home


@pytest.fixture
def synced(synced_template: Path, kb_home: Path) -> Settings:
    shutil.copytree(synced_template, kb_home)
    return load_settings()


@pytest.fixture
def space(tmp_path: Path) -> Path:
    return copy_sample_space(tmp_path / "space")


def _all_chunks(store: ChunkStore) -> dict[str, ChunkMetadata]:
    return store.get_metadata(where={"space_key": "HB"})


def test_first_sync_indexes_every_page_restricted_ones_with_who_may_read_them(synced: Settings) -> None:
    chunks = _all_chunks(build_store(synced)).values()
    listed = {ref.page_id for ref in FolderPageSource(SAMPLE_SPACE).list_pages("HB")}

    assert {meta.page_id for meta in chunks} == listed
    assert {meta.page_id for meta in chunks if meta.restricted} == RESTRICTED
    assert {meta.read_rules for meta in chunks if meta.page_id == "1213"} == {(ReadRule(groups=("hr",)),)}


def test_every_chunk_carries_the_plans_metadata(synced: Settings) -> None:
    for chunk_id, meta in _all_chunks(build_store(synced)).items():
        assert meta.page_title and meta.url.startswith("https://larkspur.example/wiki/spaces/HB/pages/")
        assert meta.owner.endswith("@larkspur.example"), chunk_id
        assert meta.summary and meta.topics and meta.audience, chunk_id
        assert meta.quality_score == NEUTRAL_QUALITY_SCORE
        assert meta.content_hash and meta.ingested_at > 0


def test_classification_comes_from_the_page_or_the_space_default(synced: Settings) -> None:
    levels = {meta.classification for meta in _all_chunks(build_store(synced)).values()}

    assert levels == {"public", "internal", "confidential"}


def test_code_table_and_list_chunks_are_typed(synced: Settings) -> None:
    chunks = _all_chunks(build_store(synced)).values()

    assert {meta.chunk_type for meta in chunks} == {"text", "code", "table", "list"}
    assert any(meta.chunk_type == "code" and meta.language == "bash" for meta in chunks)


def test_resync_of_unchanged_content_embeds_and_writes_nothing(synced: Settings, space: Path) -> None:
    summary = _sync(synced, space, full=True)

    assert (summary.chunks_embedded, summary.chunks_upserted, summary.chunks_deleted) == (0, 0, 0)
    assert summary.pages_seen > 40


def test_incremental_resync_reads_only_pages_changed_since_the_cursor(synced: Settings, space: Path) -> None:
    edit_page(space, VPN, lambda body: body.replace("GlobalProtect", "GlobalProtect 6"))

    summary = _sync(synced, space)

    assert summary.pages_seen == 1
    assert summary.pages_changed == 1


def test_editing_one_section_reembeds_only_that_section(synced: Settings, space: Path) -> None:
    store = build_store(synced)
    before = {c.id: c for c in store.get_chunks(where={"page_id": VPN})}
    edit_page(space, VPN, lambda body: body.replace("When you need the VPN", "When you need the VPN?", 1))

    summary = _sync(synced, space)

    after = {c.id: c for c in store.get_chunks(where={"page_id": VPN})}
    changed = {cid for cid in after if cid not in before or after[cid].text != before[cid].text}
    assert 0 < summary.chunks_embedded < len(before)
    assert set(after) - changed == {cid for cid in before if cid in after} - changed
    assert all(
        after[cid].metadata.content_hash == before[cid].metadata.content_hash for cid in set(after) - changed
    )


def test_resync_keeps_quality_counts_and_review_state(synced: Settings, space: Path) -> None:
    store = build_store(synced)
    ids = sorted(store.get_metadata(where={"page_id": VPN}))
    writer = build_quality_writer(synced, store)
    writer.record_votes([vote(cid, page_id=VPN, user=f"U{n}") for cid in ids for n in range(3)])
    writer.mark_reviewed(VPN, reviewer="priya.raman@larkspur.example")
    store.batch_update_metadata({cid: {"access_count": 12} for cid in ids})
    edit_page(space, VPN, lambda body: body.replace("solid", "solid blue", 1))

    _sync(synced, space)

    expected = NEUTRAL_QUALITY_SCORE + 3 * synced.quality_vote_helpful
    for meta in store.get_metadata(ids=ids).values():
        assert (meta.quality_score, meta.access_count, meta.feedback_count) == (expected, 12, 3)
        assert meta.reviewed_by == "priya.raman@larkspur.example"


def test_a_new_section_on_a_reviewed_page_inherits_the_review_and_starts_neutral(
    synced: Settings, space: Path
) -> None:
    store = build_store(synced)
    ids = list(store.get_metadata(where={"page_id": VPN}))
    store.batch_update_metadata(
        {cid: {"reviewed_at": "2026-11-01T00:00:00Z", "reviewed_by": "priya"} for cid in ids}
    )
    edit_page(space, VPN, lambda body: body + "<h1>Brand new section</h1><p>Call the help desk on 4357.</p>")

    _sync(synced, space)

    [new] = [m for cid, m in store.get_metadata(where={"page_id": VPN}).items() if cid not in ids]
    assert new.reviewed_by == "priya" and new.quality_score == NEUTRAL_QUALITY_SCORE


def test_a_hidden_page_with_an_assigned_owner_stays_so_through_edits_and_new_sections(
    synced: Settings, space: Path
) -> None:
    store = build_store(synced)
    decisions = PageDecisions(store)
    decisions.archive(VPN)
    decisions.assign_owner(VPN, "new.owner@larkspur.example")
    edit_page(
        space, VPN, lambda body: body.replace("solid", "solid blue", 1) + "<h1>New</h1><p>Ring 4357.</p>"
    )

    _sync(synced, space)

    pages = store.get_metadata(where={"page_id": VPN}).values()
    assert {(meta.archived, meta.owner) for meta in pages} == {(True, "new.owner@larkspur.example")}


def test_a_deleted_page_disappears(synced: Settings, space: Path) -> None:
    delete_page(space, VPN)

    summary = _sync(synced, space)

    assert summary.pages_deleted == 1
    assert build_store(synced).get_metadata(where={"page_id": VPN}) == {}


def test_a_restriction_added_to_a_parent_reaches_its_children_without_reembedding(
    synced: Settings, space: Path
) -> None:
    write_meta(space, "1100", read_restriction={"groups": ["engineering"]})  # no version bump

    summary = _sync(synced, space)

    chunks = _all_chunks(build_store(synced)).values()
    assert {m.read_rules for m in chunks if m.page_id in {"1100", VPN}} == {
        (ReadRule(groups=("engineering",)),)
    }
    assert not any(m.restricted for m in chunks if m.page_id == "1201")
    assert summary.chunks_embedded == 0 and summary.pages_access_changed >= 2


def test_a_child_restricted_under_a_restricted_parent_needs_both(synced: Settings, space: Path) -> None:
    write_meta(space, "1100", read_restriction={"groups": ["engineering"]})
    write_meta(space, VPN, read_restriction={"users": ["557058:priya"]})

    _sync(synced, space)

    [rules] = {m.read_rules for m in _all_chunks(build_store(synced)).values() if m.page_id == VPN}
    assert set(rules) == {ReadRule(groups=("engineering",)), ReadRule(users=("557058:priya",))}


def test_a_lifted_restriction_opens_the_page_again(synced: Settings, space: Path) -> None:
    meta = read_meta(space, "1313")
    meta.pop("read_restriction")
    meta_path, _ = page_files(space, "1313")
    meta_path.write_text(json.dumps(meta))

    _sync(synced, space)

    assert not any(m.restricted for m in _all_chunks(build_store(synced)).values() if m.page_id == "1313")


class _FailingListing(FolderPageSource):
    def list_pages(self, space_key: str) -> list[PageRef]:
        raise SourceError("listing broke on page 3 of 7")


def test_a_failed_listing_deletes_nothing_and_keeps_the_cursor(synced: Settings, space: Path) -> None:
    store = build_store(synced)
    cursor = SyncCursors(store).get("HB")
    delete_page(space, VPN)

    summary = build_synchronizer(synced, source=_FailingListing(space), store=store).run()

    assert summary.errors == 1 and "listing failed" in summary.error_details[0]["error"]
    assert store.get_metadata(where={"page_id": VPN}) != {}
    assert SyncCursors(store).get("HB") == cursor


class _EmptyListing(FolderPageSource):
    def list_pages(self, space_key: str) -> list[PageRef]:
        return []


def test_an_empty_listing_never_deletes_a_whole_space(synced: Settings, space: Path) -> None:
    store = build_store(synced)
    count = store.count()

    summary = build_synchronizer(synced, source=_EmptyListing(space), store=store).run()

    assert summary.errors == 1 and "refusing" in summary.error_details[0]["error"]
    assert store.count() == count


def test_a_page_that_fails_is_reported_and_the_cursor_stays_for_a_retry(
    synced: Settings, space: Path
) -> None:
    store = build_store(synced)
    cursor = SyncCursors(store).get("HB")
    too_long_title = " ".join(["Connecting"] * 300)  # leaves no room for text in a 256-piece chunk
    write_meta(space, VPN, title=too_long_title, version=99, updated="2026-11-25T10:00:00Z")

    summary = _sync(synced, space)

    assert summary.errors == 1 and summary.error_details[0]["page_id"] == VPN
    assert SyncCursors(store).get("HB") == cursor


def test_sync_summary_json_has_the_documented_keys(synced: Settings) -> None:
    summary = json.loads(json.dumps(_sync(synced, SAMPLE_SPACE).as_dict()))

    assert {
        "pages_seen",
        "pages_added",
        "pages_changed",
        "pages_unchanged",
        "pages_deleted",
        "chunks_upserted",
        "chunks_embedded",
        "chunks_deleted",
        "errors",
    } <= set(summary)


class _KillsChroma(FolderPageSource):
    """Kills the Chroma server after handing out a few pages, as a crash mid-sync would."""

    def __init__(self, root: Path, server: ChromaServer, after: int) -> None:
        super().__init__(root)
        self._server = server
        self._after = after

    def changed_pages(self, space_key: str, since: datetime | None) -> Iterator[SourcePage]:
        for index, page in enumerate(super().changed_pages(space_key, since)):
            if index == self._after:
                self._server.stop()
            yield page


def _reference(synced_template: Path, pages: tuple[str, ...]) -> dict[str, ChunkMetadata]:
    everything = build_store(load_settings(kb_home=synced_template)).get_metadata(where={"space_key": "HB"})
    return {cid: meta for cid, meta in everything.items() if meta.page_id in pages}


def test_chroma_killed_mid_sync_fails_clearly_and_the_next_sync_completes_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_sample_space(tmp_path / "it", only=IT_SECTION)
    server = ChromaServer(tmp_path / "chroma").start()
    settings = load_settings(chroma_url=server.url, chroma_retries=0)
    store = build_store(settings)
    _sync(settings, folder)
    for page_id in IT_SECTION:
        edit_page(folder, page_id, lambda body: body.replace("</p>", " (revised)</p>", 1))
    # Commit page by page, so the kill lands mid-run.
    monkeypatch.setattr("common.ingestion.indexer.EMBED_BATCH", 8)
    synchronizer = build_synchronizer(settings, source=_KillsChroma(folder, server, after=5), store=store)

    with pytest.raises(StoreUnavailable, match="CHROMA_URL"):
        synchronizer.run()

    server.start()
    try:
        summary = _sync(settings, folder)
        reference_settings = load_settings(kb_home=tmp_path / "reference")
        _sync(reference_settings, folder)
        reference = build_store(reference_settings).get_metadata(where={"space_key": "HB"})
        stored = store.get_metadata(where={"space_key": "HB"})
        assert summary.errors == 0
        assert {cid: m.content_hash for cid, m in stored.items()} == {
            cid: m.content_hash for cid, m in reference.items()
        }
        assert store.count() == len(reference)
    finally:
        server.stop()


def test_sync_into_a_real_server_matches_the_embedded_store(
    chroma_server: ChromaServer, synced_template: Path, tmp_path: Path
) -> None:
    settings = load_settings(chroma_url=chroma_server.url, chroma_collection="server_sync")

    _sync(settings, copy_sample_space(tmp_path / "it", only=IT_SECTION))

    reference = _reference(synced_template, IT_SECTION)
    stored = build_store(settings).get_metadata(where={"space_key": "HB"})
    assert {cid: m.content_hash for cid, m in stored.items()} == {
        cid: m.content_hash for cid, m in reference.items()
    }


def test_a_page_with_no_text_syncs_without_error(synced: Settings, space: Path) -> None:
    edit_page(space, "1100", lambda _: '<ac:structured-macro ac:name="children" ac:schema-version="2"/>')

    summary = _sync(synced, space)

    assert summary.errors == 0
    assert build_store(synced).get_metadata(where={"page_id": "1100"}) == {}


class _VotesWhileSyncing(FolderPageSource):
    """Records a vote on every chunk of a page after the sync has read the page, before it writes."""

    def __init__(self, root: Path, writer: QualityWriter, store: ChunkStore, page_id: str) -> None:
        super().__init__(root)
        self._writer = writer
        self._store = store
        self._page_id = page_id

    def changed_pages(self, space_key: str, since: datetime | None) -> Iterator[SourcePage]:
        yield from super().changed_pages(space_key, since)
        ids = list(self._store.get_metadata(where={"page_id": self._page_id}))
        self._writer.record_votes([vote(cid, page_id=self._page_id) for cid in ids])


def test_a_vote_recorded_while_a_sync_runs_is_not_overwritten(synced: Settings, space: Path) -> None:
    store = build_store(synced)
    edit_page(space, VPN, lambda body: body.replace("solid", "solid blue", 1))

    source = _VotesWhileSyncing(space, build_quality_writer(synced, store), store, VPN)

    build_synchronizer(synced, source=source, store=store).run()

    scores = {m.quality_score for m in store.get_metadata(where={"page_id": VPN}).values()}
    assert scores == {NEUTRAL_QUALITY_SCORE + synced.quality_vote_helpful}


def test_learned_state_follows_text_when_a_heading_is_renamed(synced: Settings, space: Path) -> None:
    store = build_store(synced)
    before = store.get_chunks(where={"page_id": VPN})
    build_quality_writer(synced, store).record_votes(
        [vote(c.id, page_id=VPN, user=f"U{n}") for i, c in enumerate(before) for n in range(i % 8)]
    )
    score_by_text = {
        c.text: NEUTRAL_QUALITY_SCORE + (i % 8) * synced.quality_vote_helpful for i, c in enumerate(before)
    }
    edit_page(space, VPN, lambda body: body.replace("When you need the VPN", "Do you need the VPN", 1))

    _sync(synced, space)

    after = store.get_chunks(where={"page_id": VPN})
    assert {c.metadata.quality_score for c in after if c.text in score_by_text} == {
        score_by_text[c.text] for c in after if c.text in score_by_text
    }
    assert all(c.metadata.quality_score == score_by_text[c.text] for c in after if c.text in score_by_text)


def test_a_page_created_after_the_listing_is_kept(synced: Settings, space: Path) -> None:
    class LateListing(FolderPageSource):
        def list_pages(self, space_key: str) -> list[PageRef]:
            return [ref for ref in super().list_pages(space_key) if ref.page_id != VPN]

    edit_page(space, VPN, lambda body: body + "<p>Added after the listing was taken.</p>")

    build_synchronizer(synced, source=LateListing(space), store=build_store(synced)).run()

    assert build_store(synced).get_metadata(where={"page_id": VPN}) != {}


class _TwoSpaces(FolderPageSource):
    def space_keys(self) -> list[str]:
        return ["GONE", "HB"]

    def list_pages(self, space_key: str) -> list[PageRef]:
        if space_key == "GONE":
            raise SourceError("space GONE does not exist; check CONFLUENCE_SPACES")
        return super().list_pages(space_key)

    def changed_pages(self, space_key: str, since: datetime | None) -> Iterator[SourcePage]:
        if space_key == "GONE":
            raise SourceError("space GONE does not exist; check CONFLUENCE_SPACES")
        return super().changed_pages(space_key, since)


def test_a_failing_space_is_reported_and_the_next_space_still_syncs(synced: Settings, space: Path) -> None:
    edit_page(space, VPN, lambda body: body.replace("solid", "solid blue", 1))

    summary = build_synchronizer(synced, source=_TwoSpaces(space), store=build_store(synced)).run()

    assert summary.error_details[0]["space"] == "GONE"
    assert summary.pages_changed == 1


def test_each_space_keeps_its_own_cursor(kb_home: Path) -> None:
    store = build_store(load_settings())
    SyncCursors(store).set("HB", "2026-11-25T10:00:00+00:00")
    other = build_store(load_settings())
    SyncCursors(other).set("ENG", "2026-11-24T10:00:00+00:00")

    assert SyncCursors(store).get("HB") == "2026-11-25T10:00:00+00:00"
    assert SyncCursors(store).get("ENG") == "2026-11-24T10:00:00+00:00"
