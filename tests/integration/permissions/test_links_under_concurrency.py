"""The links file shared by every instance, under many writers at once: on one machine (a folder and its
lock) and across instances (a bucket, compare-and-swap on the object's generation)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from common.config import load_settings
from common.permissions.links import LinkStore, UserConfluenceLink
from common.runtime.infra import build_versioned_files

WRITERS = 8
WHEN = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["folder", "bucket"])
def make_store(request: pytest.FixtureRequest) -> Callable[[], LinkStore]:
    """Each call is another instance on the same file, as the runtime builds it."""
    if request.param == "bucket":
        request.getfixturevalue("gcs_bucket")
    settings = load_settings()
    return lambda: LinkStore(build_versioned_files(settings, "identity"))


def _at_once(task: Callable[[int], None]) -> None:
    start = threading.Barrier(WRITERS)

    def run(n: int) -> None:
        start.wait()
        task(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _link(n: int) -> UserConfluenceLink:
    return UserConfluenceLink(
        slack_user_id=f"W{n}", account_id=f"acc-{n}", method="email", linked_at=WHEN, last_used_at=WHEN
    )


def test_a_state_spent_by_many_instances_at_once_is_spent_exactly_once(
    make_store: Callable[[], LinkStore],
) -> None:
    spent: list[bool] = []

    _at_once(lambda _n: spent.append(make_store().spend_state("nonce-1", WHEN)))

    assert sorted(spent) == [False] * (WRITERS - 1) + [True]


def test_links_made_by_many_instances_at_once_are_all_kept(make_store: Callable[[], LinkStore]) -> None:
    _at_once(lambda n: make_store().save_by_email(_link(n)))

    assert sorted(link.slack_user_id for link in make_store().all()) == sorted(
        f"W{n}" for n in range(WRITERS)
    )


def test_one_person_linked_by_email_on_many_instances_at_once_gets_one_link(
    make_store: Callable[[], LinkStore],
) -> None:
    saved: list[bool] = []

    _at_once(lambda n: saved.append(make_store().save_by_email(_link(0))))

    assert saved.count(True) == 1 and len(make_store().all()) == 1
