"""`kb analytics ingest`, `kb analytics query SQL` and `kb report`: the analytics files from a terminal."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table

from common.analytics.query import query
from common.analytics.report import render_report
from common.cli_support import err, out, reports_errors, settings_with_logging
from common.quality import QualityPolicy
from common.quality_rebuild import rebuild_quality
from common.review_queue import review_queue
from common.runtime import build_period_files, build_quality_writer, run_analytics_ingest
from common.vectorstore import ChunkStore


@click.group()
def analytics() -> None:
    """Events in DuckDB: ingest them, query them."""


@analytics.command("ingest")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary object.")
@reports_errors
def ingest_command(as_json: bool) -> None:
    """Move waiting events (the Pub/Sub subscription, or the local spool) into the monthly files."""
    summary = run_analytics_ingest(settings_with_logging())
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
        return
    out.print(
        f"Ingested {summary.inserted} events ({summary.duplicates} duplicates dropped, "
        f"{summary.dead_lettered} dead-lettered) into {', '.join(sorted(summary.periods)) or 'no files'}."
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


@click.command()
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html")
)
@reports_errors
def report(out_path: Path) -> None:
    """Write a self-contained HTML report: questions, answers, feedback, stale pages, latency."""
    settings = settings_with_logging()
    now = datetime.now(UTC)
    pages = review_queue(ChunkStore.from_settings(settings), QualityPolicy.from_settings(settings), now=now)
    rows = [
        {
            "title": p.title,
            "url": p.url,
            "owner": p.owner,
            "quality": p.quality,
            "overdue_days": p.overdue_days,
        }
        for p in pages
    ]
    with tempfile.TemporaryDirectory(prefix="kb-report-") as scratch:
        html = render_report(
            build_period_files(settings).local_copies(Path(scratch)), now=now, review_queue=rows
        )
    out_path.write_text(html, encoding="utf-8")
    err.print(f"Report written to {out_path}")


@click.command("rebuild-quality")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary object.")
@reports_errors
def rebuild_quality_command(as_json: bool) -> None:
    """Restore votes and access counts missing from Chroma from the analytics events, and rescore."""
    settings = settings_with_logging()
    store = ChunkStore.from_settings(settings)
    with tempfile.TemporaryDirectory(prefix="kb-rebuild-") as scratch:
        files = build_period_files(settings).local_copies(Path(scratch))
        summary = rebuild_quality(store, build_quality_writer(settings, store), files)
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
        return
    out.print(
        f"Restored {summary.votes_restored} of {summary.votes_in_events} votes on "
        f"{summary.chunks_rescored} chunks; raised {summary.access_counts_raised} access counts."
    )
