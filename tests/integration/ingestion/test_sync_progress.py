"""What a sync tells whoever watches it (a progress bar): the pages it will read, counted over every space
before any body is read, then each page as it is done; and a summary of what happened to every listed page.
The folder source on copies of the sample space, and Confluence through its HTTP stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from common.config import Settings, load_settings
from common.confluence.folder_source import FolderPageSource
from common.confluence.models import SourcePage
from common.errors import SourceError
from common.ingestion.indexer import PageOutcome
from common.ingestion.sync import SyncPlan, SyncSummary
from common.runtime.sources import build_source
from tests.support.confluence_standin import ConfluenceStandin
from tests.support.runs import run_sync
from tests.support.sample_space import (
    IT_SECTION,
    copy_sample_space,
    delete_page,
    edit_page,
    load_into_confluence,
    write_meta,
)

VPN, WIFI = "1101", "1106"


class Watcher:
    """A `SyncProgress` that writes down what it is told, in order."""

    def __init__(self, events: list[str] | None = None) -> None:
        self.events = [] if events is None else events
        self.plans: list[SyncPlan] = []
        self.done: list[tuple[str, str]] = []
        self.more = 0

    def planned(self, plan: SyncPlan) -> None:
        self.plans.append(plan)
        self.events.append("planned")

    def space_started(self, space_key: str) -> None:
        self.events.append(f"space {space_key}")

    def page_done(self, space_key: str, outcome: PageOutcome) -> None:
        self.done.append((space_key, outcome.page_id))
        self.events.append("page done")

    def more_pages(self, space_key: str, count: int) -> None:
        self.more += count
        self.events.append(f"more {count}")

    @property
    def plan(self) -> SyncPlan:
        [plan] = self.plans
        return plan


class Noted(FolderPageSource):
    """The folder source, noting when it counts and when it starts handing out bodies."""

    def __init__(self, root: Path, events: list[str]) -> None:
        super().__init__(root)
        self.events = events

    def count_changed_pages(self, space_key: str, since: datetime | None) -> int:
        self.events.append("counted")
        return super().count_changed_pages(space_key, since)

    def changed_pages(self, space_key: str, since: datetime | None) -> Iterator[SourcePage]:
        self.events.append("bodies")
        return super().changed_pages(space_key, since)


class CannotCount(FolderPageSource):
    def count_changed_pages(self, space_key: str, since: datetime | None) -> int:
        raise SourceError("the count endpoint is switched off")


@pytest.fixture
def space(tmp_path: Path) -> Path:
    return copy_sample_space(tmp_path / "it", only=IT_SECTION)


def _watched(settings: Settings, source: FolderPageSource, **options: bool) -> tuple[Watcher, SyncSummary]:
    watcher = Watcher()
    summary = run_sync(settings, source=source, progress=watcher, **options)
    return watcher, summary


def test_the_pages_are_counted_before_any_body_is_read_then_each_is_reported_done(space: Path) -> None:
    events: list[str] = []
    watcher = Watcher(events)

    summary = run_sync(load_settings(), source=Noted(space, events), progress=watcher)

    assert events[:4] == ["counted", "planned", "space HB", "bodies"]
    assert watcher.plan == SyncPlan(spaces=("HB",), total=len(IT_SECTION))
    assert sorted(page for _, page in watcher.done) == sorted(IT_SECTION)
    assert (summary.pages_added, summary.pages_changed, summary.pages_unchanged) == (len(IT_SECTION), 0, 0)


def test_an_incremental_sync_plans_only_the_pages_changed_since_the_cursor(space: Path) -> None:
    settings = load_settings()
    run_sync(settings, source=FolderPageSource(space))
    edit_page(space, VPN, lambda body: body.replace("GlobalProtect", "GlobalProtect 6"))

    watcher, summary = _watched(settings, FolderPageSource(space))

    assert watcher.plan.total == 1 and watcher.done == [("HB", VPN)]
    assert (summary.pages_added, summary.pages_changed) == (0, 1)
    assert summary.pages_unchanged == len(IT_SECTION) - 1


def test_a_full_sync_plans_every_page(space: Path) -> None:
    settings = load_settings()
    run_sync(settings, source=FolderPageSource(space))

    watcher, summary = _watched(settings, FolderPageSource(space), full=True)

    assert watcher.plan.total == len(watcher.done) == len(IT_SECTION)
    assert summary.pages_unchanged == len(IT_SECTION)


def test_the_summary_tells_changed_unchanged_and_removed_pages_apart(space: Path) -> None:
    settings = load_settings()
    run_sync(settings, source=FolderPageSource(space))
    edit_page(space, VPN, lambda body: body + "<p>Sessions now last 12 hours.</p>")
    delete_page(space, WIFI)

    summary = run_sync(settings, source=FolderPageSource(space))

    counts = (summary.pages_added, summary.pages_changed, summary.pages_unchanged, summary.pages_deleted)
    assert counts == (0, 1, len(IT_SECTION) - 2, 1)


def test_a_page_the_change_window_missed_is_added_to_the_total_when_the_reconcile_finds_it(
    space: Path,
) -> None:
    settings = load_settings()
    run_sync(settings, source=FolderPageSource(space))
    write_meta(space, VPN, version=40, updated="2020-01-01T00:00:00Z")

    watcher, _ = _watched(settings, FolderPageSource(space))

    assert (watcher.plan.total, watcher.more) == (0, 1)
    assert watcher.done == [("HB", VPN)]


def test_a_source_that_cannot_count_leaves_the_total_unknown_and_the_sync_goes_on(space: Path) -> None:
    watcher, summary = _watched(load_settings(), CannotCount(space))

    assert watcher.plan.total is None
    assert "switched off" in (watcher.plan.unknown_because or "")
    assert summary.errors == 0 and summary.pages_added == len(watcher.done) == len(IT_SECTION)


def test_a_sync_nobody_watches_counts_nothing(space: Path) -> None:
    summary = run_sync(load_settings(), source=CannotCount(space))

    assert summary.errors == 0 and summary.pages_added == len(IT_SECTION)


@pytest.fixture
def confluence() -> Iterator[ConfluenceStandin]:
    with ConfluenceStandin() as standin:
        yield standin


def _confluence_settings(confluence: ConfluenceStandin) -> Settings:
    return load_settings(
        confluence_url=confluence.url,
        confluence_user=confluence.user,
        confluence_api_token=confluence.token,
        confluence_spaces="HB,OPS",
        confluence_timeout_seconds=2,
        confluence_max_retries=0,
    )


def _two_spaces(confluence: ConfluenceStandin) -> int:
    """The IT section in HB and two of its pages in OPS; returns how many pages there are in all."""
    load_into_confluence(confluence, space_key="HB")
    load_into_confluence(confluence, space_key="OPS", only=("1000", "1100"))
    return len(IT_SECTION) + 2


def test_one_total_covers_every_confluence_space_and_is_counted_before_any_body_is_fetched(
    confluence: ConfluenceStandin,
) -> None:
    pages = _two_spaces(confluence)
    settings = _confluence_settings(confluence)
    watcher = Watcher()

    run_sync(settings, source=build_source(settings), progress=watcher)

    assert watcher.plan == SyncPlan(spaces=("HB", "OPS"), total=pages)
    assert len(watcher.done) == pages
    searches = confluence.log_for("/rest/api/search")
    counts = [s for s in searches if "expand" not in s.query]
    assert [s.query["limit"] for s in counts] == ["1", "1"]
    assert searches[:2] == counts


def test_a_confluence_that_gives_no_total_leaves_the_bar_without_one_and_syncs_every_page() -> None:
    with ConfluenceStandin(total_size=False) as confluence:
        pages = _two_spaces(confluence)
        settings = _confluence_settings(confluence)
        watcher = Watcher()

        summary = run_sync(settings, source=build_source(settings), progress=watcher)

    assert watcher.plan.total is None and "totalSize" in (watcher.plan.unknown_because or "")
    assert summary.errors == 0 and len(watcher.done) == summary.pages_added == pages


def test_a_count_refused_by_an_outage_leaves_the_total_unknown_and_the_sync_goes_on(
    confluence: ConfluenceStandin,
) -> None:
    pages = _two_spaces(confluence)
    settings = _confluence_settings(confluence)
    confluence.fail("500", times=1, path="/rest/api/search")
    watcher = Watcher()

    summary = run_sync(settings, source=build_source(settings), progress=watcher)

    assert watcher.plan.total is None and "500" in (watcher.plan.unknown_because or "")
    assert summary.errors == 0 and summary.pages_added == pages
