"""`RestPageSource.count_changed_pages`: how many pages a sync will read, from one CQL search's `totalSize`,
against the HTTP stand-in of Confluence's v1 search (Cloud's layout, and Data Center's)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from common.confluence.rest_source import RestPageSource
from common.errors import SourceError, SourceUnavailable
from tests.support.confluence_standin import ConfluenceStandin

SPACE = "ENG"
SEARCH = "/rest/api/search"
FIRST = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def confluence() -> Iterator[ConfluenceStandin]:
    with ConfluenceStandin(max_limit=2) as standin:
        _fill(standin, 5)
        yield standin


def _fill(standin: ConfluenceStandin, count: int) -> None:
    """`count` pages of SPACE modified one minute apart from FIRST, and a page in another space."""
    standin.add_space(SPACE, "Engineering")
    standin.add_space("HR", "People")
    for n in range(count):
        standin.add_page(SPACE, f"Page {n}", f"<p>Body {n}</p>", created=FIRST + timedelta(minutes=n))
    standin.add_page("HR", "Leave", "<p>Ask your manager.</p>", created=FIRST)


def _source(standin: ConfluenceStandin, *, max_retries: int = 0) -> RestPageSource:
    return RestPageSource(
        url=standin.url,
        user=standin.user,
        token=standin.token,
        spaces=[SPACE],
        timeout_seconds=0.5,
        max_retries=max_retries,
        max_retry_after_seconds=5.0,
        page_limit=2,
        backoff_factor=0.01,
        backoff_jitter_seconds=0.0,
    )


def test_a_spaces_pages_are_counted_by_one_search_for_a_single_result_with_nothing_expanded(
    confluence: ConfluenceStandin,
) -> None:
    count = _source(confluence).count_changed_pages(SPACE, None)

    assert count == 5
    [search] = confluence.log_for(SEARCH)
    assert search.query["limit"] == "1" and "expand" not in search.query
    assert search.query["cql"] == 'space = "ENG" AND type = page'


def test_the_count_is_the_whole_search_not_the_page_size_confluence_caps_results_at(
    confluence: ConfluenceStandin,
) -> None:
    source = _source(confluence)

    assert source.count_changed_pages(SPACE, None) == len(list(source.changed_pages(SPACE, None))) == 5


def test_only_pages_changed_since_the_cursor_are_counted(confluence: ConfluenceStandin) -> None:
    count = _source(confluence).count_changed_pages(SPACE, FIRST + timedelta(minutes=3))

    assert count == 2
    [search] = confluence.log_for(SEARCH)
    assert search.query["cql"].endswith('AND lastmodified >= "2024/03/01 09:03"')


def test_data_center_counts_the_same_way_under_its_own_layout() -> None:
    with ConfluenceStandin(user=None, context_path="") as data_center:
        _fill(data_center, 3)

        count = _source(data_center).count_changed_pages(SPACE, None)

    assert count == 3


def test_a_search_answered_without_total_size_cannot_be_counted() -> None:
    with ConfluenceStandin(total_size=False) as confluence:
        _fill(confluence, 3)

        with pytest.raises(SourceError, match="totalSize"):
            _source(confluence).count_changed_pages(SPACE, None)


def test_a_body_that_is_not_json_cannot_be_counted(confluence: ConfluenceStandin) -> None:
    confluence.fail("malformed", path=SEARCH)

    with pytest.raises(SourceError):
        _source(confluence).count_changed_pages(SPACE, None)


def test_a_server_error_is_retried_before_counting(confluence: ConfluenceStandin) -> None:
    confluence.fail("500", path=SEARCH)

    assert _source(confluence, max_retries=1).count_changed_pages(SPACE, None) == 5
    assert len(confluence.log_for(SEARCH)) == 2


def test_a_confluence_that_keeps_failing_is_reported_unavailable(confluence: ConfluenceStandin) -> None:
    confluence.fail("429", times=3, path=SEARCH, retry_after=0)

    with pytest.raises(SourceUnavailable):
        _source(confluence, max_retries=1).count_changed_pages(SPACE, None)
