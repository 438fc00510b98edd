"""`RestPageSource` against an HTTP stand-in of Confluence that speaks the real v1 wire format.

Small timeouts and backoff factors keep the file fast; the one real wait is the 1 s Retry-After.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from structlog.testing import capture_logs

from common.config import load_settings
from common.confluence.models import Person
from common.confluence.rest_source import RestPageSource
from common.errors import ConfigError, SourceError, SourceUnavailable
from common.runtime.sources import build_rest_source
from tests.support.confluence_standin import ConfluenceStandin

SPACE = "ENG"
SEARCH = "/rest/api/search"


@pytest.fixture
def confluence() -> Iterator[ConfluenceStandin]:
    with ConfluenceStandin() as standin:
        standin.add_space(SPACE, "Engineering")
        standin.add_user("acc-ann", "Ann Author", email="ann@example.com")
        standin.add_user("acc-ed", "Ed Editor")
        yield standin


def make_source(
    standin: ConfluenceStandin,
    *,
    max_retries: int = 2,
    timeout_seconds: float = 0.5,
    max_retry_after_seconds: float = 5.0,
    page_limit: int = 2,
    max_search_pages: int = 10_000,
) -> RestPageSource:
    return RestPageSource(
        url=standin.url,
        user=standin.user,
        token=standin.token,
        spaces=[SPACE],
        timeout_seconds=timeout_seconds,
        max_retries=max_retries,
        max_retry_after_seconds=max_retry_after_seconds,
        page_limit=page_limit,
        backoff_factor=0.01,
        backoff_jitter_seconds=0.0,
        max_search_pages=max_search_pages,
    )


def _source_at(url: str, *, user: str | None, token: str, max_retries: int = 5) -> RestPageSource:
    return RestPageSource(
        url=url,
        user=user,
        token=token,
        spaces=[SPACE],
        timeout_seconds=30.0,
        max_retries=max_retries,
        max_retry_after_seconds=120.0,
        page_limit=50,
        backoff_factor=0.01,
    )


def add_pages(standin: ConfluenceStandin, count: int, *, start: datetime | None = None) -> list[str]:
    """`count` pages modified one minute apart, oldest first."""
    first = start or datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    return [
        standin.add_page(SPACE, f"Page {n}", f"<p>Body {n}</p>", created=first + timedelta(minutes=n))
        for n in range(count)
    ]


def test_changed_pages_follows_next_links_across_several_pages(confluence: ConfluenceStandin) -> None:
    ids = add_pages(confluence, 5)

    pages = list(make_source(confluence).changed_pages(SPACE, None))

    assert [page.page_id for page in pages] == ids
    searches = confluence.log_for(SEARCH)
    assert len(searches) == 3
    assert "cursor" not in searches[0].query
    assert all("cursor" in entry.query for entry in searches[1:])
    assert all(entry.path == "/wiki/rest/api/search" for entry in searches)
    assert all(entry.query["expand"].startswith("content.body.storage") for entry in searches)


def test_next_links_without_expand_still_bring_full_pages() -> None:
    with ConfluenceStandin(next_link_expand=False) as standin:
        standin.add_space(SPACE)
        ids = add_pages(standin, 3)

        pages = list(make_source(standin).changed_pages(SPACE, None))

        assert [page.body_storage for page in pages] == ["<p>Body 0</p>", "<p>Body 1</p>", "<p>Body 2</p>"]
        assert [page.page_id for page in pages] == ids


def test_changed_pages_pages_by_start_and_limit_without_next_links() -> None:
    with ConfluenceStandin(next_links=False) as standin:
        standin.add_space(SPACE)
        ids = add_pages(standin, 5)

        pages = list(make_source(standin).changed_pages(SPACE, None))

        assert [page.page_id for page in pages] == ids
        assert [entry.query["start"] for entry in standin.log_for(SEARCH)] == ["0", "2", "4"]


def test_paging_without_total_size_stops_at_the_first_short_page() -> None:
    with ConfluenceStandin(next_links=False, total_size=False) as standin:
        standin.add_space(SPACE)
        ids = add_pages(standin, 5)

        pages = list(make_source(standin).changed_pages(SPACE, None))

        assert [page.page_id for page in pages] == ids
        assert [entry.query["start"] for entry in standin.log_for(SEARCH)] == ["0", "2", "4"]


def test_paging_respects_a_server_cap_below_the_requested_limit() -> None:
    with ConfluenceStandin(next_links=False, total_size=False, max_limit=2) as standin:
        standin.add_space(SPACE)
        ids = add_pages(standin, 5)

        refs = make_source(standin, page_limit=50).list_pages(SPACE)

        assert [ref.page_id for ref in refs] == ids


def test_offset_paging_that_ignores_start_raises_source_error_naming_the_url() -> None:
    with ConfluenceStandin(next_links=False, honour_start=False) as standin:
        standin.add_space(SPACE)
        add_pages(standin, 5)

        with pytest.raises(SourceError, match="ignores `start`") as caught:
            make_source(standin).list_pages(SPACE)

        assert f"{standin.url}/rest/api/search?" in str(caught.value)
        assert not isinstance(caught.value, SourceUnavailable)
        assert [entry.query["start"] for entry in standin.log_for(SEARCH)] == ["0", "2"]


def test_next_link_paging_past_the_page_cap_raises_source_error_naming_the_url(
    confluence: ConfluenceStandin,
) -> None:
    add_pages(confluence, 5)

    with pytest.raises(SourceError, match="did not end after 2 pages") as caught:
        make_source(confluence, max_search_pages=2).list_pages(SPACE)

    assert f"{confluence.url}/rest/api/search?" in str(caught.value)
    assert len(confluence.log_for(SEARCH)) == 2


def test_offset_paging_past_the_page_cap_raises_source_error() -> None:
    with ConfluenceStandin(next_links=False, total_size=False) as standin:
        standin.add_space(SPACE)
        add_pages(standin, 5)

        with pytest.raises(SourceError, match="did not end after 2 pages"):
            make_source(standin, max_search_pages=2).list_pages(SPACE)

        assert len(standin.log_for(SEARCH)) == 2


def test_search_taking_exactly_the_page_cap_is_read_in_full(confluence: ConfluenceStandin) -> None:
    ids = add_pages(confluence, 5)

    refs = make_source(confluence, max_search_pages=3).list_pages(SPACE)

    assert [ref.page_id for ref in refs] == ids


def test_changed_pages_since_returns_only_pages_modified_from_then_on(confluence: ConfluenceStandin) -> None:
    old, edited, _ = add_pages(confluence, 3, start=datetime(2024, 1, 1, tzinfo=UTC))
    confluence.edit_page(edited, body="<p>new</p>", when=datetime(2024, 6, 1, 12, 30, tzinfo=UTC))
    fresh = confluence.add_page(SPACE, "Fresh", created=datetime(2024, 6, 2, tzinfo=UTC))

    since = datetime(2024, 6, 1, 12, 30, 45, tzinfo=UTC)
    pages = list(make_source(confluence).changed_pages(SPACE, since))

    assert [page.page_id for page in pages] == [edited, fresh]
    assert pages[0].version == 2
    cql = confluence.log_for(SEARCH)[0].query["cql"]
    assert (
        cql
        == 'space = "ENG" AND type = page AND lastmodified >= "2024/06/01 12:30" ORDER BY lastmodified ASC'
    )
    assert old not in {page.page_id for page in pages}


def test_changed_pages_without_since_sends_no_date_clause(confluence: ConfluenceStandin) -> None:
    add_pages(confluence, 1)

    list(make_source(confluence).changed_pages(SPACE, None))

    assert (
        confluence.log_for(SEARCH)[0].query["cql"]
        == 'space = "ENG" AND type = page ORDER BY lastmodified ASC'
    )


def test_every_field_of_a_page_is_mapped(confluence: ConfluenceStandin) -> None:
    created = datetime(2024, 2, 1, 8, 0, tzinfo=UTC)
    root = confluence.add_page(SPACE, "Handbook", created=created)
    parent = confluence.add_page(SPACE, "Operations", parent_id=root, created=created)
    page_id = confluence.add_page(
        SPACE, "On-call Runbook", "<p>Page the SRE.</p>", author="acc-ann", parent_id=parent,
        labels=["runbook", "owner-jdoe"], created=created,
    )  # fmt: skip
    confluence.edit_page(page_id, editor="acc-ed", when=datetime(2024, 2, 3, 10, 15, tzinfo=UTC))

    page = make_source(confluence).get_page(page_id)

    assert page.page_id == page_id
    assert page.space_key == SPACE
    assert page.title == "On-call Runbook"
    assert page.url == f"{confluence.url}/spaces/ENG/pages/{page_id}/On-call+Runbook"
    assert page.version == 2
    assert page.body_storage == "<p>Page the SRE.</p>"
    assert page.author == Person(name="Ann Author", email="ann@example.com", account_id="acc-ann")
    assert page.last_editor == Person(name="Ed Editor", email=None, account_id="acc-ed")
    assert page.created_at == created
    assert page.updated_at == datetime(2024, 2, 3, 10, 15, tzinfo=UTC)
    assert page.labels == ("runbook", "owner-jdoe")
    assert page.ancestor_ids == (root, parent)
    assert page.restricted is False
    assert page.owner == Person(name="jdoe")


def test_search_results_map_to_the_same_page_as_get_page(confluence: ConfluenceStandin) -> None:
    root = confluence.add_page(SPACE, "Handbook")
    page_id = confluence.add_page(SPACE, "Child", parent_id=root, labels=["faq"])
    source = make_source(confluence)

    from_search = {page.page_id: page for page in source.changed_pages(SPACE, None)}

    assert from_search[page_id] == source.get_page(page_id)


def test_page_without_owner_label_has_no_owner(confluence: ConfluenceStandin) -> None:
    page_id = confluence.add_page(SPACE, "Plain", labels=["faq"])

    assert make_source(confluence).get_page(page_id).owner is None


def test_read_restriction_by_user_or_group_marks_the_page_restricted(confluence: ConfluenceStandin) -> None:
    by_user = confluence.add_page(SPACE, "Salaries")
    by_group = confluence.add_page(SPACE, "Board minutes")
    open_page = confluence.add_page(SPACE, "Lunch menu")
    confluence.restrict(by_user, users=["acc-ann"])
    confluence.restrict(by_group, groups=["executives"])

    refs = {ref.page_id: ref.restricted for ref in make_source(confluence).list_pages(SPACE)}

    assert refs == {by_user: True, by_group: True, open_page: False}


def test_list_pages_returns_refs_without_bodies(confluence: ConfluenceStandin) -> None:
    root = confluence.add_page(SPACE, "Root")
    child = confluence.add_page(SPACE, "Child", parent_id=root)
    confluence.edit_page(child)

    refs = make_source(confluence).list_pages(SPACE)

    assert [(ref.page_id, ref.version, ref.ancestor_ids) for ref in refs] == [
        (root, 1, ()),
        (child, 2, (root,)),
    ]
    assert all("body" not in entry.query["expand"] for entry in confluence.log_for(SEARCH))


def test_deleted_page_disappears_from_the_listing(confluence: ConfluenceStandin) -> None:
    keep, gone = add_pages(confluence, 2)
    confluence.delete_page(gone)

    assert [ref.page_id for ref in make_source(confluence).list_pages(SPACE)] == [keep]


def test_429_with_retry_after_is_honoured_then_succeeds(confluence: ConfluenceStandin) -> None:
    page_id = confluence.add_page(SPACE, "Busy")
    confluence.fail("429", retry_after=1, path="/content/")

    page = make_source(confluence).get_page(page_id)

    assert page.page_id == page_id
    first, retry = confluence.log_for("/content/")
    assert (first.status, retry.status) == (429, 200)
    assert retry.time - first.time >= 1.0


def test_500_is_retried_then_succeeds(confluence: ConfluenceStandin) -> None:
    page_id = confluence.add_page(SPACE, "Flaky")
    confluence.fail("500", path="/content/")

    assert make_source(confluence).get_page(page_id).page_id == page_id
    assert [entry.status for entry in confluence.log_for("/content/")] == [500, 200]


def test_timeout_is_retried_then_succeeds(confluence: ConfluenceStandin) -> None:
    page_id = confluence.add_page(SPACE, "Slow")
    confluence.fail("hang", path="/content/", hang_seconds=2.0)

    page = make_source(confluence, timeout_seconds=0.3).get_page(page_id)

    assert page.page_id == page_id
    assert len(confluence.log_for("/content/")) == 2


def test_exhausted_retries_raise_source_unavailable_with_a_readable_message(
    confluence: ConfluenceStandin,
) -> None:
    page_id = confluence.add_page(SPACE, "Down")
    confluence.fail("500", path="/content/", times=10)

    with pytest.raises(SourceUnavailable) as caught:
        make_source(confluence, max_retries=2).get_page(page_id)

    message = str(caught.value)
    assert f"{confluence.url}/rest/api/content/{page_id}" in message
    assert "kept answering 500" in message
    assert "2 retries with exponential backoff" in message
    assert len(confluence.log_for("/content/")) == 3


def test_exhausted_timeouts_raise_source_unavailable(confluence: ConfluenceStandin) -> None:
    page_id = confluence.add_page(SPACE, "Stuck")
    confluence.fail("hang", path="/content/", times=2, hang_seconds=2.0)

    with pytest.raises(SourceUnavailable, match="ReadTimeoutError"):
        make_source(confluence, max_retries=1, timeout_seconds=0.2).get_page(page_id)


def test_retry_after_beyond_the_cap_fails_at_once(confluence: ConfluenceStandin) -> None:
    page_id = confluence.add_page(SPACE, "Throttled")
    confluence.fail("429", retry_after=18000, path="/content/", times=5)

    with pytest.raises(SourceUnavailable, match="CONFLUENCE_MAX_RETRY_AFTER_SECONDS") as caught:
        make_source(confluence, max_retry_after_seconds=2).get_page(page_id)

    assert "18000" in str(caught.value)
    assert len(confluence.log_for("/content/")) == 1


def test_unreachable_confluence_raises_source_unavailable() -> None:
    with ConfluenceStandin() as standin:
        url, user, token = standin.url, standin.user, standin.token
    source = _source_at(url, user=user, token=token, max_retries=1)

    with pytest.raises(SourceUnavailable, match="Cannot reach Confluence"):
        source.get_page("1")


def test_401_raises_source_error_naming_the_credentials(confluence: ConfluenceStandin) -> None:
    source = _source_at(confluence.url, user=confluence.user, token="wrong")

    with pytest.raises(SourceError, match="CONFLUENCE_API_TOKEN") as caught:
        source.list_pages(SPACE)

    assert not isinstance(caught.value, SourceUnavailable)
    assert [entry.status for entry in confluence.requests] == [401]


def test_unknown_space_raises_source_error_naming_it_and_confluence_spaces(
    confluence: ConfluenceStandin,
) -> None:
    with pytest.raises(SourceError, match=r"'NOPE'.*CONFLUENCE_SPACES"):
        list(make_source(confluence).changed_pages("NOPE", None))


def test_missing_page_raises_source_error_naming_the_page(confluence: ConfluenceStandin) -> None:
    with pytest.raises(SourceError, match="page 424242 does not exist"):
        make_source(confluence).get_page("424242")


def test_listing_that_fails_midway_raises_instead_of_returning_part(confluence: ConfluenceStandin) -> None:
    add_pages(confluence, 6)
    confluence.fail("500", path=SEARCH, after=1, times=10)

    with pytest.raises(SourceUnavailable):
        make_source(confluence).list_pages(SPACE)

    assert [entry.status for entry in confluence.log_for(SEARCH)] == [200, 500, 500, 500]


def test_malformed_json_raises_source_error(confluence: ConfluenceStandin) -> None:
    page_id = confluence.add_page(SPACE, "Garbled")
    confluence.fail("malformed", path="/content/")

    with pytest.raises(SourceError, match=f"page {page_id}.*not a JSON object"):
        make_source(confluence).get_page(page_id)


def test_missing_field_raises_source_error_naming_page_and_field(confluence: ConfluenceStandin) -> None:
    page_id = confluence.add_page(SPACE, "Incomplete")
    confluence.drop_field(page_id, "restrictions")

    with pytest.raises(SourceError, match=f"page {page_id}: field 'restrictions.read.restrictions'"):
        list(make_source(confluence).changed_pages(SPACE, None))


def test_user_and_api_token_authenticate_with_basic_auth(confluence: ConfluenceStandin) -> None:
    make_source(confluence).list_pages(SPACE)

    assert all(entry.authorization.startswith("Basic ") for entry in confluence.requests)


def test_token_without_user_authenticates_as_a_bearer_pat() -> None:
    with ConfluenceStandin(user=None, token="pat-123", context_path="") as standin:
        standin.add_space(SPACE)
        page_id = standin.add_page(SPACE, "Data Center page")

        refs = make_source(standin).list_pages(SPACE)

        assert [ref.page_id for ref in refs] == [page_id]
        assert {entry.authorization for entry in standin.requests} == {"Bearer pat-123"}
        assert standin.log_for(SEARCH)[0].path == "/rest/api/search"


def test_user_name_is_cached_after_one_request(confluence: ConfluenceStandin) -> None:
    source = make_source(confluence)

    assert source.user_name("acc-ann") == "Ann Author"
    assert source.user_name("acc-ann") == "Ann Author"
    assert [entry.query for entry in confluence.log_for("/rest/api/user")] == [{"accountId": "acc-ann"}]


def test_unknown_user_name_is_none_and_cached(confluence: ConfluenceStandin) -> None:
    source = make_source(confluence)

    assert source.user_name("acc-nobody") is None
    assert source.user_name("acc-nobody") is None
    assert len(confluence.log_for("/rest/api/user")) == 1


def test_forbidden_user_lookup_is_an_unknown_user_and_cached(confluence: ConfluenceStandin) -> None:
    confluence.fail("403", path="/rest/api/user")
    source = make_source(confluence)

    assert source.user_name("acc-ann") is None
    assert source.user_name("acc-ann") is None
    assert [entry.status for entry in confluence.log_for("/rest/api/user")] == [403]


def test_malformed_account_id_rejected_with_400_is_an_unknown_user(confluence: ConfluenceStandin) -> None:
    confluence.fail("400", path="/rest/api/user")

    assert make_source(confluence).user_name("not an account id") is None


def test_refused_user_lookup_warns_once_per_ref(confluence: ConfluenceStandin) -> None:
    confluence.fail("403", path="/rest/api/user", times=2)
    source = make_source(confluence)

    with capture_logs() as logs:
        for ref in ("acc-ann", "acc-ed", "acc-ann", "acc-ed"):
            source.user_name(ref)

    assert [(entry["log_level"], entry["event"], entry["user_ref"]) for entry in logs] == [
        ("warning", "confluence_user_lookup_refused", "acc-ann"),
        ("warning", "confluence_user_lookup_refused", "acc-ed"),
    ]
    assert "403" in logs[0]["error"]


def test_user_missing_with_404_logs_no_warning(confluence: ConfluenceStandin) -> None:
    source = make_source(confluence)

    with capture_logs() as logs:
        assert source.user_name("acc-nobody") is None

    assert [entry for entry in logs if entry["log_level"] != "debug"] == []


def test_unavailable_user_lookup_raises_source_unavailable(confluence: ConfluenceStandin) -> None:
    confluence.fail("500", path="/rest/api/user", times=10)

    with pytest.raises(SourceUnavailable):
        make_source(confluence, max_retries=1).user_name("acc-ann")


def test_user_lookup_is_tried_again_after_confluence_was_unavailable(confluence: ConfluenceStandin) -> None:
    confluence.fail("500", path="/rest/api/user", times=2)
    source = make_source(confluence, max_retries=1)

    with pytest.raises(SourceUnavailable):
        source.user_name("acc-ann")

    assert source.user_name("acc-ann") == "Ann Author"


def test_data_center_user_name_tries_user_key_then_username() -> None:
    with ConfluenceStandin(user=None, context_path="") as standin:
        standin.add_user("unused", "Jane Doe", username="jdoe", user_key="ff8080817a1b")
        source = make_source(standin)

        assert source.user_name("ff8080817a1b") == "Jane Doe"
        assert source.user_name("jdoe") == "Jane Doe"
        queries = [entry.query for entry in standin.log_for("/rest/api/user")]
        assert queries == [{"key": "ff8080817a1b"}, {"key": "jdoe"}, {"username": "jdoe"}]


def test_from_settings_reads_the_confluence_settings(confluence: ConfluenceStandin) -> None:
    page_id = confluence.add_page(SPACE, "Configured")
    settings = load_settings(
        confluence_url=confluence.url,
        confluence_user=confluence.user,
        confluence_api_token=confluence.token,
        confluence_spaces=f" {SPACE} ,",
        confluence_page_limit=7,
    )

    source = build_rest_source(settings)

    assert source.space_keys() == [SPACE]
    assert [ref.page_id for ref in source.list_pages(SPACE)] == [page_id]
    assert confluence.log_for(SEARCH)[0].query["limit"] == "7"


def test_from_settings_without_a_token_is_a_config_error() -> None:
    settings = load_settings(confluence_url="https://acme.atlassian.net/wiki", confluence_spaces="ENG")

    with pytest.raises(ConfigError, match="CONFLUENCE_API_TOKEN"):
        build_rest_source(settings)


def test_standin_answers_unknown_paths_with_confluence_404(confluence: ConfluenceStandin) -> None:
    response = requests.get(f"{confluence.origin}/rest/api/content/1", timeout=5)

    assert response.status_code == 404
    assert set(response.json()) == {"statusCode", "data", "message", "reason"}
