"""Merging a month's part files into fewer, larger ones, each event once, so readers copy and open few files.

Levelled: once a month has `fan_in` files of one level, they are merged into one file of the next level
(`common.analytics.period_files` names them). Every event is so rewritten about once per level, a handful of
times in all, however many batches the month had; a full compaction (`kb analytics compact --all`) merges
everything a month has into one file.

A merge never loses or doubles an event, whatever runs beside it. The merge is written through the same
views the readers use, so an event in several of its inputs is stored once. It is stored (generation-checked,
under a name made from its inputs) before any input is removed, so every event is in some file at every
moment; ingest runs only add parts, which a merge never removes because it did not list them. A compaction
that finds one of its inputs gone stops: another compaction merged it. Two compactions of the same files
write the same name, and the second leaves the stored one alone. Two that listed different files (a part
arrived in between) may store one event in two merges until a higher level merges them, and readers count it
once meanwhile.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from common.analytics.period_files import Part, PeriodFiles, merged_part
from common.analytics.query import stack_files
from common.analytics.schema import EVENT_LOG, TABLES
from common.analytics.store import open_store
from common.errors import BlobConflict
from common.logs import get_logger

log = get_logger(__name__)

_OUT = "_merged"


@dataclass(slots=True)
class CompactionSummary:
    merged: int = 0
    """Files merged into others (and removed)."""
    written: int = 0
    events: int = 0
    """Events in the files written."""
    repeats_dropped: int = 0
    """Copies of events that were in more than one input."""
    periods: set[str] = field(default_factory=set)

    def add(self, other: CompactionSummary) -> None:
        self.merged += other.merged
        self.written += other.written
        self.events += other.events
        self.repeats_dropped += other.repeats_dropped
        self.periods |= other.periods

    def as_dict(self) -> dict[str, object]:
        return {
            "merged": self.merged,
            "written": self.written,
            "events": self.events,
            "repeats_dropped": self.repeats_dropped,
            "periods": sorted(self.periods),
        }


def compact_periods(files: PeriodFiles, periods: Iterable[str], *, fan_in: int) -> CompactionSummary:
    """Merge, level by level, every level of `periods` that has gathered `fan_in` files."""
    if fan_in < 2:
        raise ValueError(f"Compaction merges at least 2 files at a time, got fan_in={fan_in}")
    summary = CompactionSummary()
    for period in sorted(set(periods)):
        while full := _full_level(files.parts(period), fan_in):
            merge = merge_parts(files, full, full[0].level + 1)
            summary.add(merge)
            if not merge.merged:
                break
    if summary.merged:
        log.info("analytics_compacted", **summary.as_dict())
    return summary


def _full_level(parts: list[Part], fan_in: int) -> list[Part]:
    """The files of the lowest level that has `fan_in` of them, or none."""
    levels = Counter(part.level for part in parts)
    full = sorted(level for level, count in levels.items() if count >= fan_in)
    return [part for part in parts if part.level == full[0]] if full else []


def compact_fully(files: PeriodFiles, periods: Iterable[str]) -> CompactionSummary:
    """Merge every file of each of `periods` into one (a month already in one file is left alone)."""
    summary = CompactionSummary()
    for period in sorted(set(periods)):
        parts = files.parts(period)
        if len(parts) > 1:
            summary.add(merge_parts(files, parts, max(part.level for part in parts) + 1))
    return summary


def merge_parts(files: PeriodFiles, inputs: list[Part], level: int) -> CompactionSummary:
    """Merge `inputs` (all of one month) into one part of `level`, then remove them; nothing is changed
    when one of them is gone already (another compaction is merging them)."""
    [period] = {part.period for part in inputs}
    output = merged_part(period, level, inputs)
    with tempfile.TemporaryDirectory(prefix="kb-compact-") as scratch:
        copies = [files.copy(part, Path(scratch) / "in") for part in inputs]
        present = [copy for copy in copies if copy is not None]
        if len(present) < len(inputs):
            log.info("analytics_merge_abandoned", period=period, level=level, gone=len(inputs) - len(present))
            return CompactionSummary()
        merged = Path(scratch) / output.name
        events, stored = _write_merge(present, merged)
        try:
            files.add_merged(output, merged)
        except BlobConflict:
            log.info("analytics_merge_stored_already", part=output.name)
    for part in inputs:
        files.remove(part)
    return CompactionSummary(
        merged=len(inputs), written=1, events=events, repeats_dropped=stored - events, periods={period}
    )


def _write_merge(inputs: list[Path], output: Path) -> tuple[int, int]:
    """Write every table of `inputs`, each event once and in time order (similar rows side by side compress
    better); returns (events written, event rows read)."""
    open_store(output).close()
    with duckdb.connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        catalogs = stack_files(conn, inputs)
        conn.execute(f"ATTACH ? AS {_OUT}", [str(output)])
        for table in TABLES:
            conn.execute(
                f"INSERT INTO {_OUT}.main.{table} BY NAME SELECT * FROM {table} ORDER BY occurred_at"
            )
        counts = " + ".join(f"(SELECT count(*) FROM {catalog}.main.{EVENT_LOG})" for catalog in catalogs)
        [(events, read)] = conn.execute(
            f"SELECT (SELECT count(*) FROM {_OUT}.main.{EVENT_LOG}), {counts}"
        ).fetchall()
        conn.execute(f"DETACH {_OUT}")
    return int(events), int(read)
