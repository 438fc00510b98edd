"""A month's analytics as part files, each written once (`common.infra.write_once_files`): in a GCS bucket in
the cloud, in a folder under KB_HOME on one machine.

Every ingest batch adds one new part per month it holds, without reading the month's other parts, so a
batch costs the same on the 1st and the 31st. Compaction (`common.analytics.compaction`) merges parts into
fewer, larger ones and then removes what it merged. The name says what a file is:

- `events-2026-11.L0.<16 hex>.duckdb`: a part written by one ingest batch (level 0, a random id);
- `events-2026-11.L<n>.<16 hex>.duckdb`: a merge of files of level n-1 (the id is a hash of their names);
- `events-2026-11.duckdb`: the single monthly file of before parts, read as one more part of level 0.

An event can be in two files of its month for a while (redelivered into two parts, or merged and not yet
removed), so every reader drops repeated `event_id`s within a month (`common.analytics.query`).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from common.analytics.store import file_name
from common.errors import BlobConflict
from common.infra.write_once_files import WriteOnceFiles
from common.logs import get_logger

log = get_logger(__name__)

PREFIX = "analytics/"
LEGACY_LEVEL = 0
MAX_READ_ROUNDS = 20
"""A reader lists again when a listed file vanished (merged meanwhile); every round that misses one means a
compaction finished during it, and compactions take far longer than a listing."""
_NAME = re.compile(r"events-(?P<period>\d{4}-(?:0[1-9]|1[0-2]))(?:\.L(?P<level>\d+)\.[0-9a-f]{16})?\.duckdb")


@dataclass(frozen=True, slots=True, order=True)
class Part:
    period: str
    level: int
    name: str


def part_of(name: str) -> Part | None:
    """The part a file name denotes, or None for a name that is not an analytics file."""
    found = _NAME.fullmatch(name)
    if found is None:
        return None
    level = found["level"]
    return Part(found["period"], LEGACY_LEVEL if level is None else int(level), name)


def merged_part(period: str, level: int, inputs: list[Part]) -> Part:
    """The part that merges `inputs`, named by them: two compactions of the same files at once write one
    name, so the second finds it there instead of storing every event a second time."""
    digest = hashlib.sha256("\n".join(sorted(part.name for part in inputs)).encode()).hexdigest()
    return _part(period, level, digest[:16])


def _part(period: str, level: int, unique: str) -> Part:
    name = file_name(period).replace(".duckdb", f".L{level}.{unique}.duckdb")
    return Part(period, level, name)


class PeriodFiles:
    def __init__(self, files: WriteOnceFiles) -> None:
        self._files = files

    def add_part(self, period: str, source: Path) -> Part:
        """Store `source` as a new level-0 part of `period`."""
        part = _part(period, 0, uuid.uuid4().hex[:16])
        self._files.create(part.name, source)
        return part

    def add_merged(self, part: Part, source: Path) -> None:
        """Store a merge; `BlobConflict` when the same merge was stored already."""
        self._files.create(part.name, source)

    def parts(self, period: str | None = None) -> list[Part]:
        """Every part (of `period`, when given), in order of period, level and name."""
        found = [part for name in self._files.names() if (part := part_of(name)) is not None]
        return sorted(part for part in found if period is None or part.period == period)

    def periods(self) -> list[str]:
        """Every month that has a file."""
        return sorted({part.period for part in self.parts()})

    def copy(self, part: Part, directory: Path) -> Path | None:
        """A local copy of `part`, or None when it was removed (merged into another part)."""
        return self._files.copy(part.name, directory)

    def remove(self, part: Part) -> None:
        self._files.remove(part.name)

    def local_copies(self, directory: Path) -> list[Path]:
        """Copies of every part of every month in `directory`, for queries and reports to read.

        A compaction stores its merge before it removes the parts merged, so when a listed part has vanished
        its events are in a file a new listing shows: list again and copy what is new, until a round copies
        every file it listed. Events copied twice that way are dropped by the readers like any repeat."""
        copied: dict[str, Path] = {}
        for _ in range(MAX_READ_ROUNDS):
            missing = False
            for part in self.parts():
                if part.name in copied:
                    continue
                path = self.copy(part, directory)
                if path is None:
                    missing = True
                else:
                    copied[part.name] = path
            if not missing:
                return [copied[name] for name in sorted(copied)]
            log.info("analytics_part_merged_while_read", copied=len(copied))
        raise BlobConflict(
            f"The analytics parts kept being merged while they were read ({MAX_READ_ROUNDS} listings); "
            "nothing is wrong with them: try again."
        )
