"""Recomputes that take turns: whoever is served from another caller's turn still sees their own write."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from common.quality.recompute_turns import RecomputeTurns


class Votes:
    """A stand-in for the vote store: a count that only grows, read by each recompute."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.stored = 0
        self.recomputes = 0

    def put(self) -> int:
        with self._lock:
            self.stored += 1
            return self.stored

    def recompute(self, chunk_ids: list[str]) -> dict[str, int]:
        with self._lock:
            self.recomputes += 1
            return dict.fromkeys(chunk_ids, self.stored)


def test_every_caller_gets_a_result_that_includes_its_own_write() -> None:
    turns: RecomputeTurns[int] = RecomputeTurns()
    votes = Votes()

    def click(_: int) -> tuple[int, int]:
        mine = votes.put()
        return mine, turns.run(["c1", "c2"], votes.recompute)["c1"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(click, range(2000)))

    assert all(seen >= mine for mine, seen in results)
    assert votes.recomputes <= len(results)


def test_a_caller_after_a_finished_turn_recomputes_again() -> None:
    turns: RecomputeTurns[int] = RecomputeTurns()
    votes = Votes()
    votes.put()
    assert turns.run(["c1"], votes.recompute) == {"c1": 1}
    votes.put()

    assert turns.run(["c1"], votes.recompute) == {"c1": 2}
    assert votes.recomputes == 2


def test_chunks_a_turn_did_not_cover_are_recomputed() -> None:
    turns: RecomputeTurns[int] = RecomputeTurns()
    votes = Votes()
    votes.put()
    turns.run(["c1"], votes.recompute)

    assert turns.run(["c1", "c2"], votes.recompute) == {"c1": 1, "c2": 1}
