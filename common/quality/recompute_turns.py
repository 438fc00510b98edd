"""Recomputes in one process take turns, and one turn serves every caller that was waiting for it.

A burst of clicks on one answer asks for the same chunks' scores again and again. Run side by side, each
writer's verify would see the others' writes and go round again; run in turn, each would still redo the same
work. So a caller takes a ticket once its votes are stored, and a turn that started reading after that
ticket was issued has necessarily read those votes: the caller is answered from it without reading again.
Other processes are not affected; the writer's read-write-verify rule keeps them exact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Change = TypeVar("Change")

MAX_REMEMBERED_CHUNKS = 10_000
"""Forgetting a chunk's last turn costs one more recompute, never a wrong score."""


@dataclass(frozen=True, slots=True)
class _Turn(Generic[Change]):
    covers: int
    change: Change


class RecomputeTurns(Generic[Change]):
    def __init__(self) -> None:
        self._turn = threading.Lock()
        self._tickets = threading.Lock()
        self._issued = 0
        self._last: dict[str, _Turn[Change]] = {}

    def run(
        self, chunk_ids: Sequence[str], recompute: Callable[[list[str]], dict[str, Change]]
    ) -> dict[str, Change]:
        """Call only after the caller's writes are stored."""
        ticket = self._take_ticket()
        with self._turn:
            served = {
                cid: turn.change
                for cid in chunk_ids
                if (turn := self._last.get(cid)) and turn.covers >= ticket
            }
            if len(served) == len(chunk_ids):
                return served
            covers = self._take_ticket()
            changes = recompute(list(chunk_ids))
            if len(self._last) > MAX_REMEMBERED_CHUNKS:
                self._last.clear()
            self._last.update({cid: _Turn(covers, change) for cid, change in changes.items()})
            return changes

    def _take_ticket(self) -> int:
        with self._tickets:
            self._issued += 1
            return self._issued
