"""Claims with a lease, on one machine (a folder) and across instances (a bucket on fake-gcs-server)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from common.config import load_settings
from common.infra.claims import BucketClaims, Claim, Claims, FolderClaims
from common.runtime.infra import build_blob_store

LEASE = 120.0


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


ClaimsFactory = Callable[[_Clock], Claims]


@pytest.fixture(params=["folder", "bucket"])
def make_claims(request: pytest.FixtureRequest) -> ClaimsFactory:
    """Each call is another worker (its own owner id) on the same claims, reading the given clock."""
    if request.param == "bucket":
        request.getfixturevalue("gcs_bucket")
        blobs = build_blob_store(load_settings())
        return lambda clock: BucketClaims(blobs, prefix="claims/test/", lease_seconds=LEASE, clock=clock)
    directory = load_settings().kb_home / "claims" / "test"
    return lambda clock: FolderClaims(directory, lease_seconds=LEASE, clock=clock)


def test_the_first_claimant_takes_the_work_and_a_second_finds_it_held(make_claims: ClaimsFactory) -> None:
    clock = _Clock()

    assert make_claims(clock).claim("Ev1") is Claim.TAKEN
    assert make_claims(clock).claim("Ev1") is Claim.HELD


def test_completed_work_is_done_for_everyone_even_after_the_lease(make_claims: ClaimsFactory) -> None:
    clock = _Clock()
    worker = make_claims(clock)
    worker.claim("Ev1")
    worker.complete("Ev1")
    clock.now += 10 * LEASE

    assert make_claims(clock).claim("Ev1") is Claim.DONE


def test_a_claim_whose_worker_died_is_taken_over_once_its_lease_runs_out(make_claims: ClaimsFactory) -> None:
    clock = _Clock()
    make_claims(clock).claim("Ev1")

    clock.now += LEASE - 1
    assert make_claims(clock).claim("Ev1") is Claim.HELD
    clock.now += 2
    assert make_claims(clock).claim("Ev1") is Claim.TAKEN
    assert make_claims(clock).claim("Ev1") is Claim.HELD


def test_released_work_is_taken_by_the_next_claimant(make_claims: ClaimsFactory) -> None:
    clock = _Clock()
    worker = make_claims(clock)
    worker.claim("Ev1")
    worker.release("Ev1")

    assert make_claims(clock).claim("Ev1") is Claim.TAKEN


def test_many_workers_racing_for_new_work_produce_one_taker(make_claims: ClaimsFactory) -> None:
    assert _race(make_claims, _Clock(), "Ev-new") == [Claim.TAKEN]


def test_many_workers_racing_for_an_expired_claim_produce_one_taker(make_claims: ClaimsFactory) -> None:
    clock = _Clock()
    make_claims(clock).claim("Ev-stale")
    clock.now += LEASE + 1

    assert _race(make_claims, clock, "Ev-stale") == [Claim.TAKEN]


def _race(make_claims: ClaimsFactory, clock: _Clock, key: str) -> list[Claim]:
    """The outcomes that were TAKEN when 8 workers claim `key` at the same moment."""
    workers = [make_claims(clock) for _ in range(8)]
    barrier = threading.Barrier(len(workers))
    outcomes: list[Claim] = []
    lock = threading.Lock()

    def claim(worker: Claims) -> None:
        barrier.wait()
        outcome = worker.claim(key)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=claim, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == len(workers)
    return [outcome for outcome in outcomes if outcome is Claim.TAKEN]
