"""Votes that arrived while Chroma was down, kept until they can be counted.

One small JSON file per vote, named by its vote id: a repeated click while Chroma is down overwrites its own
file, and replay applies each file through the normal quality writer (which is idempotent per vote id), then
deletes it. On Cloud Run the files go to the bucket (an instance's disk dies with it); on one machine, to a
folder under KB_HOME.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from common.blob_store import GcsBlobStore
from common.errors import KbError, ServiceUnavailable
from common.logs import get_logger
from common.quality_writer import QualityWriter
from common.votes import Vote

log = get_logger(__name__)

PREFIX = "pending-votes/"


def _encode(vote: Vote) -> bytes:
    record: dict[str, Any] = asdict(vote)
    record["voted_at"] = vote.voted_at.isoformat()
    return json.dumps(record).encode()


def _decode(data: bytes) -> Vote:
    record = json.loads(data)
    record["voted_at"] = datetime.fromisoformat(record["voted_at"])
    return Vote(**record)


class PendingVoteFiles(Protocol):
    def write(self, name: str, data: bytes) -> None: ...

    def read(self, name: str) -> bytes | None: ...

    def names(self) -> list[str]: ...

    def remove(self, name: str) -> None: ...


class FolderFiles:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def write(self, name: str, data: bytes) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        temporary = self._directory / f".{name}.tmp"
        temporary.write_bytes(data)
        temporary.replace(self._directory / name)

    def read(self, name: str) -> bytes | None:
        try:
            return (self._directory / name).read_bytes()
        except FileNotFoundError:
            return None

    def names(self) -> list[str]:
        if not self._directory.is_dir():
            return []
        return sorted(p.name for p in self._directory.iterdir() if p.suffix == ".json")

    def remove(self, name: str) -> None:
        (self._directory / name).unlink(missing_ok=True)


class BucketFiles:
    def __init__(self, blobs: GcsBlobStore) -> None:
        self._blobs = blobs

    def write(self, name: str, data: bytes) -> None:
        self._blobs.put_bytes(PREFIX + name, data)

    def read(self, name: str) -> bytes | None:
        return self._blobs.get_bytes(PREFIX + name)

    def names(self) -> list[str]:
        return [name.removeprefix(PREFIX) for name in self._blobs.names(PREFIX)]

    def remove(self, name: str) -> None:
        self._blobs.delete(PREFIX + name)


class PendingVotes:
    def __init__(self, files: PendingVoteFiles) -> None:
        self._files = files

    def keep(self, votes: list[Vote]) -> None:
        for vote in votes:
            self._files.write(f"{vote.vote_id}.json", _encode(vote))
        log.warning("votes_kept_for_replay", votes=[vote.vote_id for vote in votes])

    def count(self) -> int:
        return len(self._files.names())

    def replay(self, writer: QualityWriter) -> int:
        """Count every kept vote; stops at the first outage (the rest wait for the next replay)."""
        replayed = 0
        for name in self._files.names():
            data = self._files.read(name)
            if data is None:
                continue
            try:
                vote = _decode(data)
            except (ValueError, TypeError, KeyError) as exc:
                log.error("pending_vote_unreadable", file=name, error=str(exc))
                continue
            try:
                writer.record_votes([vote])
            except ServiceUnavailable:
                raise
            except KbError as exc:
                log.error("pending_vote_refused", vote_id=vote.vote_id, error=str(exc))
                continue
            self._files.remove(name)
            replayed += 1
        if replayed:
            log.info("pending_votes_replayed", votes=replayed)
        return replayed
