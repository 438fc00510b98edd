"""`kb analytics ingest`, `kb analytics query SQL` and `kb report`: the analytics files from a terminal."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table

from common.analytics.ingest import ingest
from common.analytics.query import query
from common.analytics.report import render_report
from common.analytics.report_data import review_rows
from common.cli.support import err, out, reports_errors, settings_with_logging
from common.quality.review_queue import review_queue
from common.runtime.events import build_event_source, build_period_files
from common.runtime.quality import build_quality_policy
from common.runtime.store import build_store


@click.group()
def analytics() -> None:
    """Events in DuckDB: ingest them, query them."""


@analytics.command("ingest")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary object.")
@reports_errors
def ingest_command(as_json: bool) -> None:
    """Move waiting events (the Pub/Sub subscription, or the local spool) into the monthly files."""
    settings = settings_with_logging()
    summary = ingest(build_event_source(settings), build_period_files(settings))
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
    """Write a self-contained HTML report: questions, answers, feedback, stale pages, latency.

    On one machine it first ingests the events waiting in the local spool, so what was just asked shows;
    in the cloud the ingest job does that, and the report only reads the files."""
    settings = settings_with_logging()
    if not settings.gcp_project:
        summary = ingest(build_event_source(settings), build_period_files(settings))
        if summary.inserted:
            err.print(f"Ingested {summary.inserted} waiting events first.")
    now = datetime.now(UTC)
    pages = review_queue(build_store(settings), build_quality_policy(settings), now=now)
    rows = review_rows(pages)
    with tempfile.TemporaryDirectory(prefix="kb-report-") as scratch:
        html = render_report(
            build_period_files(settings).local_copies(Path(scratch)), now=now, review_queue=rows
        )
    out_path.write_text(html, encoding="utf-8")
    err.print(f"Report written to {out_path}")
