"""What `kb sync` shows a person at a terminal: one bar for the whole run, then a summary.

The bar's total is the page count the sync takes before reading any body, over every space, so it moves
from the first page to the last once, whatever the number of spaces; the space being synced is its label.
When the source cannot count, the bar says so and counts pages done without a total.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from common.ingestion.indexer import PageOutcome
from common.ingestion.sync import SyncPlan, SyncSummary


class _Eta(ProgressColumn):
    """ "ETA 0:01:12" from the average rate since the start, nothing without a total. Pages finish in bursts
    (embedding is batched across pages), so the recent rate Rich estimates swings between a burst and
    nothing, and its ETA with it; the average holds steady."""

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text("")
        if not task.completed or not task.elapsed:
            return Text("ETA -:--:--", style="progress.remaining")
        remaining = task.elapsed * max(task.total - task.completed, 0) / task.completed
        minutes, seconds = divmod(round(remaining), 60)
        hours, minutes = divmod(minutes, 60)
        return Text(f"ETA {hours}:{minutes:02d}:{seconds:02d}", style="progress.remaining")


class SyncBar:
    """A `SyncProgress` drawn as one bar: pages done of the planned total, the current space, the ETA."""

    def __init__(self, bar: Progress) -> None:
        self._bar = bar
        self._task = bar.add_task("Counting pages", total=None)
        self._total: int | None = None
        self._done = 0

    def planned(self, plan: SyncPlan) -> None:
        if plan.total is None:
            self._bar.console.print(
                f"[yellow]The pages to sync could not be counted[/yellow] ({plan.unknown_because}); "
                "showing pages done without a total."
            )
        self._total = plan.total
        self._bar.update(self._task, total=plan.total, description="Syncing")

    def space_started(self, space_key: str) -> None:
        self._bar.update(self._task, description=f"Syncing {space_key}")

    def page_done(self, space_key: str, outcome: PageOutcome) -> None:
        """A total counted a moment before the pages were read can fall short (a page created since): the
        total then follows the pages done rather than show more done than there are."""
        self._done += 1
        if self._total is not None and self._done > self._total:
            self._total = self._done
        self._bar.update(self._task, completed=self._done, total=self._total)

    def more_pages(self, space_key: str, count: int) -> None:
        if self._total is not None:
            self._total += count
            self._bar.update(self._task, total=self._total)


@contextmanager
def sync_bar(console: Console, *, enabled: bool) -> Iterator[SyncBar | None]:
    """The bar on `console` while the block runs; None when disabled. Lines written to stderr meanwhile
    (a warning) print above the bar instead of through it."""
    if not enabled:
        yield None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("pages"),
        TimeElapsedColumn(),
        _Eta(),
    )
    with Progress(*columns, console=console) as bar:
        yield SyncBar(bar)


def summary_lines(summary: SyncSummary, *, spaces: tuple[str, ...], seconds: float) -> list[str]:
    """The summary a person reads after the bar: what happened to pages and chunks, and how long it took."""
    where = ", ".join(spaces) if spaces else "no space"
    lines = [
        f"Synced {where} in {_duration(seconds)}",
        f"  pages:  {summary.pages_added} added, {summary.pages_changed} changed, "
        f"{summary.pages_unchanged} unchanged, {summary.pages_deleted} removed",
        f"  chunks: {summary.chunks_embedded} embedded, {summary.chunks_upserted} written, "
        f"{summary.chunks_deleted} deleted",
    ]
    if summary.pages_access_changed:
        lines.append(f"  access: {summary.pages_access_changed} pages changed who may read them")
    if summary.errors:
        lines.append(f"  errors: {summary.errors} (below)")
    return lines


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes}:{rest:02d}"
