"""`kb analytics ingest`, `kb analytics compact`, `kb analytics query SQL` and `kb report`: the analytics
files from a terminal."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from rich.table import Table

from common.analytics.compaction import compact_fully, compact_periods
from common.analytics.gap_questions import bad_questions
from common.analytics.query import query
from common.analytics.report import render_report
from common.analytics.report_data import obsolete_rows, review_rows
from common.cli.support import err, out, reports_errors, settings_with_logging
from common.quality.review_queue import review_queue
from common.runtime.events import analytics_copies, build_period_files, ingest_waiting_events
from common.runtime.gaps import build_gap_analysis, possibly_obsolete
from common.runtime.quality import build_quality_policy
from common.runtime.store import build_store


@click.group()
def analytics() -> None:
    """Events in DuckDB: ingest them, query them."""


@analytics.command("ingest")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary object.")
@reports_errors
def ingest_command(as_json: bool) -> None:
    """Move waiting events (the Pub/Sub subscription, or the local spool) into new part files of their
    months, then merge the months that gathered too many parts."""
    settings = settings_with_logging()
    summary = ingest_waiting_events(settings)
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
        return
    out.print(
        f"Ingested {summary.inserted} events ({summary.duplicates} duplicates dropped, "
        f"{summary.dead_lettered} dead-lettered) into {', '.join(sorted(summary.periods)) or 'no months'}"
        f"; {summary.compaction.merged} part files merged."
    )


@analytics.command("compact")
@click.option(
    "--period", "periods", multiple=True, help="A month, YYYY-MM (repeatable); default every month."
)
@click.option(
    "--all", "whole", is_flag=True, help="Merge each month into one file, not only its full levels."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary object.")
@reports_errors
def compact_command(periods: tuple[str, ...], whole: bool, as_json: bool) -> None:
    """Merge part files into fewer, dropping events stored twice (the ingest job does this as parts gather).
    Safe beside running ingests and other compactions."""
    settings = settings_with_logging()
    files = build_period_files(settings)
    months = list(periods) or files.periods()
    if whole:
        summary = compact_fully(files, months)
    else:
        summary = compact_periods(files, months, fan_in=settings.analytics_parts_per_compaction)
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
        return
    out.print(
        f"Merged {summary.merged} part files into {summary.written} ({summary.events} events, "
        f"{summary.repeats_dropped} stored twice dropped)."
    )


@analytics.command("query")
@click.argument("sql")
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON objects.")
@reports_errors
def query_command(sql: str, as_json: bool) -> None:
    """Run SQL over every month at once (tables: user_feedback, query_records, bot_responses, …)."""
    settings = settings_with_logging()
    with tempfile.TemporaryDirectory(prefix="kb-query-") as scratch:
        result = query(build_period_files(settings).local_copies(Path(scratch)), sql)
    if as_json:
        click.echo(
            json.dumps([dict(zip(result.columns, row, strict=True)) for row in result.rows], default=str)
        )
        return
    table = Table()
    for column in result.columns:
        table.add_column(column)
    for row in result.rows:
        table.add_row(*(str(value) for value in row))
    out.print(table)


REPORT_DAYS = 30


@click.command()
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html")
)
@reports_errors
def report(out_path: Path) -> None:
    """Write a self-contained HTML report: questions, answers, feedback, signals, gaps, the nightly
    evaluation, pages needing attention, possibly obsolete pages, latency.

    On one machine it first ingests the events waiting in the local spool, so what was just asked shows;
    in the cloud the ingest job does that, and the report only reads the files."""
    settings = settings_with_logging()
    if not settings.gcp_project:
        summary = ingest_waiting_events(settings)
        if summary.inserted:
            err.print(f"Ingested {summary.inserted} waiting events first.")
    now = datetime.now(UTC)
    store = build_store(settings)
    rows = review_rows(review_queue(store, build_quality_policy(settings), now=now))
    with analytics_copies(settings) as paths:
        obsolete = obsolete_rows(possibly_obsolete(settings, store, paths, now=now))
        asked = bad_questions(paths, since=now - timedelta(days=REPORT_DAYS), until=now)
        gaps = [topic.as_dict() for topic in build_gap_analysis(settings, store).topics(asked)]
        html = render_report(
            paths, now=now, review_queue=rows, obsolete=obsolete, gaps=gaps, days=REPORT_DAYS
        )
    out_path.write_text(html, encoding="utf-8")
    err.print(f"Report written to {out_path}")
