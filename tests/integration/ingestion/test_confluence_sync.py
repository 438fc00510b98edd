"""A sync from Confluence's REST API, through an HTTP stand-in that speaks its real wire format."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from common.config import Settings, load_settings
from common.ingestion.sync import SyncSummary
from common.runtime.ingestion import build_synchronizer
from common.runtime.sources import build_source
from common.runtime.store import build_store
from common.store.access import ReadRule
from tests.support.confluence_standin import ConfluenceStandin
from tests.support.sample_space import load_into_confluence


@pytest.fixture
def confluence() -> Iterator[ConfluenceStandin]:
    with ConfluenceStandin() as standin:
        yield standin


@pytest.fixture
def pages(confluence: ConfluenceStandin) -> dict[str, str]:
    """The IT section of the sample space, loaded into the stand-in; maps sample ids to Confluence ids."""
    return load_into_confluence(confluence)


@pytest.fixture
def settings(confluence: ConfluenceStandin) -> Settings:
    return load_settings(
        confluence_url=confluence.url,
        confluence_user=confluence.user,
        confluence_api_token=confluence.token,
        confluence_spaces="HB",
        confluence_timeout_seconds=2,
    )


def _sync(settings: Settings, *, full: bool = False) -> SyncSummary:
    source = build_source(settings)
    return build_synchronizer(settings, source=source, store=build_store(settings)).run(full=full)


def test_sync_indexes_every_page_with_its_confluence_metadata(
    settings: Settings, pages: dict[str, str]
) -> None:
    summary = _sync(settings)

    stored = build_store(settings).get_metadata(where={"space_key": "HB"})
    assert summary.errors == 0
    assert {meta.page_id for meta in stored.values()} == set(pages.values())
    vpn = next(meta for meta in stored.values() if meta.page_id == pages["1101"])
    assert vpn.owner == "priya.raman@larkspur.example"
    assert vpn.source == "confluence" and "vpn" in vpn.labels
    assert vpn.url.startswith(settings.confluence_url or "")


def test_an_edit_in_confluence_reaches_only_that_page(
    settings: Settings, pages: dict[str, str], confluence: ConfluenceStandin
) -> None:
    _sync(settings)
    body = confluence.pages[pages["1106"]].body
    confluence.edit_page(
        pages["1106"], body=body + "<h2>Guest Wi-Fi</h2><p>The guest password is on the board.</p>"
    )

    summary = _sync(settings)

    assert summary.pages_changed == 1
    assert 0 < summary.chunks_embedded <= 2


def test_a_page_deleted_in_confluence_disappears(
    settings: Settings, pages: dict[str, str], confluence: ConfluenceStandin
) -> None:
    _sync(settings)
    confluence.delete_page(pages["1101"])

    summary = _sync(settings)

    assert summary.pages_deleted == 1
    assert build_store(settings).get_metadata(where={"page_id": pages["1101"]}) == {}


def test_restricting_a_parent_in_confluence_restricts_it_and_its_children_after_the_next_sync(
    settings: Settings, pages: dict[str, str], confluence: ConfluenceStandin
) -> None:
    _sync(settings)
    confluence.restrict(pages["1100"], groups=["it-team"])

    _sync(settings)

    chunks = build_store(settings).get_metadata(where={"space_key": "HB"}).values()
    restricted = {m.page_id for m in chunks if ReadRule(groups=("it-team",)) in m.read_rules}
    assert restricted == set(pages.values()) - {pages["1000"]}
    assert all(m.restricted == (m.page_id in restricted) for m in chunks)


def test_rate_limiting_and_server_errors_are_ridden_out(
    settings: Settings, pages: dict[str, str], confluence: ConfluenceStandin
) -> None:
    confluence.fail("429", retry_after=1)
    confluence.fail("500")

    summary = _sync(settings)

    assert summary.errors == 0
    assert summary.pages_seen == len(pages)


def test_saved_cursor_makes_the_next_sync_ask_only_for_recent_changes(
    settings: Settings, pages: dict[str, str], confluence: ConfluenceStandin
) -> None:
    _sync(settings)

    _sync(settings)

    last_search = confluence.log_for("/rest/api/search")[-1]
    assert "lastmodified" in str(last_search.query)


def test_a_full_resync_from_confluence_embeds_nothing(
    settings: Settings, pages: dict[str, str], confluence: ConfluenceStandin, kb_home: Path
) -> None:
    _sync(settings)

    summary = _sync(settings, full=True)

    assert summary.chunks_embedded == 0 and summary.chunks_upserted == 0
