"""Group memberships and emails read through the sync account from a Confluence stand-in (REST wire format,
paged), trusted for the permission TTL and never past it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from common.confluence.rest_source import RestPageSource
from common.errors import PermissionsUnavailable
from common.permissions.directory import Directory
from common.permissions.readers import ConfluenceReader
from common.store.access import ReadRule, may_read
from tests.support.confluence_standin import ConfluenceStandin

TTL = 900.0
RULE = (ReadRule(groups=("hr",)),)
HANNAHS_GROUPS = frozenset({"hr", "team-0", "team-1", "team-2", "team-3", "team-4"})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def confluence() -> Iterator[ConfluenceStandin]:
    with ConfluenceStandin() as standin:
        standin.add_space("HB", "Handbook")
        standin.add_user("acc-hannah", "Hannah", email="Hannah@Larkspur.example")
        standin.add_user("acc-liam", "Liam", email="liam@larkspur.example")
        standin.add_user("acc-hidden", "Hidden")
        for n in range(5):
            standin.add_group(f"team-{n}", ["acc-hannah"])
        standin.add_group("hr", ["acc-hannah"])
        yield standin


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _directory(confluence: ConfluenceStandin, clock: Clock) -> Directory:
    source = RestPageSource(
        url=confluence.url,
        user=confluence.user,
        token=confluence.token,
        spaces=["HB"],
        timeout_seconds=0.5,
        max_retries=1,
        max_retry_after_seconds=1.0,
        page_limit=2,
        backoff_factor=0.01,
        backoff_jitter_seconds=0.0,
    )
    return Directory(source, ttl_seconds=TTL, clock=clock)


def test_a_users_groups_are_read_across_every_page_of_memberof(
    confluence: ConfluenceStandin, clock: Clock
) -> None:
    groups = _directory(confluence, clock).groups_of("acc-hannah")

    assert groups == HANNAHS_GROUPS
    assert len(confluence.log_for("/rest/api/user/memberof")) == 4


def test_memberships_are_read_once_within_the_ttl(confluence: ConfluenceStandin, clock: Clock) -> None:
    directory = _directory(confluence, clock)
    directory.groups_of("acc-liam")
    clock.now = TTL - 1

    directory.groups_of("acc-liam")

    assert len(confluence.log_for("/rest/api/user/memberof")) == 1


def test_someone_removed_from_a_group_loses_access_once_the_ttl_has_passed(
    confluence: ConfluenceStandin, clock: Clock
) -> None:
    directory = _directory(confluence, clock)
    assert may_read(ConfluenceReader("acc-hannah", directory.groups_of("acc-hannah")), RULE)
    confluence.add_group("hr", [])

    clock.now = TTL

    assert not may_read(ConfluenceReader("acc-hannah", directory.groups_of("acc-hannah")), RULE)


def test_confluence_down_after_the_ttl_is_an_error_not_the_old_memberships(
    confluence: ConfluenceStandin, clock: Clock
) -> None:
    directory = _directory(confluence, clock)
    directory.groups_of("acc-hannah")
    confluence.fail("500", times=10)
    clock.now = TTL

    with pytest.raises(PermissionsUnavailable, match="restricted pages are left out"):
        directory.groups_of("acc-hannah")


def test_an_account_confluence_does_not_know_is_in_no_group(
    confluence: ConfluenceStandin, clock: Clock
) -> None:
    assert _directory(confluence, clock).groups_of("acc-nobody") == frozenset()


def test_an_email_finds_its_account_whatever_its_case(confluence: ConfluenceStandin, clock: Clock) -> None:
    assert _directory(confluence, clock).account_for_email("hannah@larkspur.EXAMPLE") == "acc-hannah"


def test_an_unknown_email_finds_no_account(confluence: ConfluenceStandin, clock: Clock) -> None:
    assert _directory(confluence, clock).account_for_email("guest@elsewhere.example") is None


def test_a_new_user_is_found_by_email_once_the_people_list_is_a_minute_old(
    confluence: ConfluenceStandin, clock: Clock
) -> None:
    directory = _directory(confluence, clock)
    assert directory.account_for_email("new@larkspur.example") is None
    confluence.add_user("acc-new", "New Hire", email="new@larkspur.example")

    clock.now = TTL / 15 + 1

    assert directory.account_for_email("new@larkspur.example") == "acc-new"


def test_many_threads_reading_memberships_while_they_expire_all_get_the_current_answer(
    confluence: ConfluenceStandin, clock: Clock
) -> None:
    directory = _directory(confluence, clock)
    wrong: list[frozenset[str]] = []
    start = threading.Barrier(8)

    def read() -> None:
        start.wait()
        for step in range(30):
            clock.now += TTL / 10 if step % 10 == 0 else 0
            groups = directory.groups_of("acc-hannah")
            if groups != HANNAHS_GROUPS:
                wrong.append(groups)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert wrong == []
