"""Claiming a piece of work once across every process, with a lease, so a worker that dies never strands it.

Slack retries events and Pub/Sub redelivers messages, so the same question can reach several workers. Each
claims the event id before answering. A claim is a small record that is created only if absent (a GCS
upload with `ifGenerationMatch=0`, or a file created under a machine lock), so exactly one claimant wins:

- `TAKEN`: this caller holds it now; it must `complete` it when the work is done, or `release` it when it
  failed in a way a retry can fix.
- `DONE`: the work was finished by someone: drop the duplicate.
- `HELD`: another worker claimed it less than a lease ago and may be doing it now: try again later.

A claim not completed within its lease (the worker was killed between claiming and finishing) is taken over
by the next claimant, again atomically (the record is replaced only over the generation that was read), so
two redeliveries racing for a stale claim still produce one winner.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

from common.errors import BlobConflict
from common.infra.background import machine_lock
from common.infra.blob_store import GcsBlobStore


class Claim(Enum):
    TAKEN = "taken"
    DONE = "done"
    HELD = "held"


class Claims(Protocol):
    def claim(self, key: str) -> Claim: ...

    def complete(self, key: str) -> None:
        """The work is finished: every later claim of `key` is `DONE`."""
        ...

    def release(self, key: str) -> None:
        """The work failed in a way a retry can fix: the next claim of `key` is `TAKEN`."""
        ...


@dataclass(frozen=True, slots=True)
class _Record:
    state: str
    """`claimed` or `done`."""
    at: float
    """Unix seconds when it was claimed or completed."""
    owner: str

    def to_bytes(self) -> bytes:
        return json.dumps({"state": self.state, "at": self.at, "owner": self.owner}).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> _Record:
        """A record this module did not write (an older plain marker) counts as done: never answer twice."""
        try:
            raw = json.loads(data)
            return cls(state=str(raw["state"]), at=float(raw["at"]), owner=str(raw["owner"]))
        except (ValueError, KeyError, TypeError):
            return cls(state="done", at=0.0, owner="")


def _name(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:40]


class _Leases:
    """The rule both stores share: what an existing record means for a new claimant."""

    def __init__(self, *, lease_seconds: float, clock: Callable[[], float]) -> None:
        self.lease_seconds = lease_seconds
        self.clock = clock
        self.owner = uuid.uuid4().hex

    def claimed(self) -> _Record:
        return _Record("claimed", self.clock(), self.owner)

    def done(self) -> _Record:
        return _Record("done", self.clock(), self.owner)

    def standing(self, record: _Record) -> Claim | None:
        """DONE or HELD when the record stands; None when its lease expired and it may be taken over."""
        if record.state == "done":
            return Claim.DONE
        if self.clock() - record.at < self.lease_seconds:
            return Claim.HELD
        return None


class FolderClaims:
    """On one machine: one file per claim, every change under a lock all processes of the machine share."""

    def __init__(
        self, directory: Path, *, lease_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._directory = directory
        self._leases = _Leases(lease_seconds=lease_seconds, clock=clock)

    def claim(self, key: str) -> Claim:
        path = self._directory / _name(key)
        with machine_lock(self._directory / ".lock"):
            if path.exists():
                standing = self._leases.standing(_Record.from_bytes(path.read_bytes()))
                if standing is not None:
                    return standing
            self._write(path, self._leases.claimed())
        return Claim.TAKEN

    def complete(self, key: str) -> None:
        with machine_lock(self._directory / ".lock"):
            self._write(self._directory / _name(key), self._leases.done())

    def release(self, key: str) -> None:
        with machine_lock(self._directory / ".lock"):
            (self._directory / _name(key)).unlink(missing_ok=True)

    @staticmethod
    def _write(path: Path, record: _Record) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(record.to_bytes())
        temporary.replace(path)


class BucketClaims:
    """Across instances: one object per claim, every change generation-checked."""

    def __init__(
        self,
        blobs: GcsBlobStore,
        *,
        prefix: str,
        lease_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._blobs = blobs
        self._prefix = prefix
        self._leases = _Leases(lease_seconds=lease_seconds, clock=clock)

    def claim(self, key: str) -> Claim:
        name = self._prefix + _name(key)
        while True:
            try:
                self._blobs.write_bytes(name, self._leases.claimed().to_bytes(), replaces=None)
                return Claim.TAKEN
            except BlobConflict:
                found = self._blobs.read_bytes(name)
            if found is not None:
                break  # else released between the two calls: try to create it again
        data, version = found
        standing = self._leases.standing(_Record.from_bytes(data))
        if standing is not None:
            return standing
        try:
            self._blobs.write_bytes(name, self._leases.claimed().to_bytes(), replaces=version.generation)
        except BlobConflict:
            return Claim.HELD
        return Claim.TAKEN

    def complete(self, key: str) -> None:
        self._blobs.put_bytes(self._prefix + _name(key), self._leases.done().to_bytes())

    def release(self, key: str) -> None:
        self._blobs.delete(self._prefix + _name(key))
