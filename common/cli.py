"""`kb`, the command line: thin commands that parse flags, call the library and print.

Exit statuses are those of `common.exit_codes`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from common.beir_eval import eval_events, evaluate
from common.cli_analytics import analytics, rebuild_quality_command, report
from common.cli_backup import backup_command, restore_command
from common.cli_bot import ask, serve
from common.cli_support import err, out, reports_errors, settings_with_logging
from common.exit_codes import EXIT_ERRORS
from common.indexing import PageOutcome
from common.quality import QualityPolicy
from common.review_queue import PageAttention, review_queue
from common.runtime import (
    build_access_recorder,
    build_publisher,
    build_retriever,
    build_source,
    run_quality_decay,
    run_sync,
)
from common.search_filters import SearchFilters
from common.vectorstore import ChunkStore


@click.group()
def main() -> None:
    """The knowledge base: sync Confluence into Chroma, search it, and keep its quality up."""


main.add_command(ask)
main.add_command(serve)
main.add_command(analytics)
main.add_command(report)
main.add_command(rebuild_quality_command)
main.add_command(backup_command)
main.add_command(restore_command)


@main.command()
@click.option(
    "--space", "spaces", multiple=True, help="Space key to sync (repeatable); default: all configured."
)
@click.option(
    "--from-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), help="A folder of pages."
)
@click.option("--full", is_flag=True, help="Ignore the saved cursor and compare every page.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary object.")
@reports_errors
def sync(spaces: tuple[str, ...], from_dir: Path | None, full: bool, as_json: bool) -> None:
    """Bring the knowledge base up to date with Confluence (or the bundled sample space)."""
    settings = settings_with_logging()
    source = build_source(settings, from_dir=from_dir)
    with _progress(enabled=not as_json and err.is_terminal) as progress:
        summary = run_sync(settings, source=source, spaces=list(spaces) or None, full=full, progress=progress)
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
    else:
        out.print(
            f"Synced: {summary.pages_seen} pages seen, {summary.pages_changed} changed, "
            f"{summary.pages_deleted} deleted; {summary.chunks_upserted} chunks written, "
            f"{summary.chunks_embedded} embedded, {summary.chunks_deleted} deleted."
        )
        for detail in summary.error_details:
            err.print(f"[red]error[/red] {detail}")
    if summary.errors:
        sys.exit(EXIT_ERRORS)


@main.command()
@click.argument("query")
@click.option("--top-k", default=5, show_default=True, type=click.IntRange(1, 50))
@click.option("--space", default=None, help="Only this space.")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@reports_errors
def search(query: str, top_k: int, space: str | None, as_json: bool) -> None:
    """Print the passages that best answer QUERY, with their sources."""
    settings = settings_with_logging()
    filters = SearchFilters(spaces=(space,) if space else ())
    store = ChunkStore.from_settings(settings)
    hits = build_retriever(settings, store).search(query, top_k=top_k, filters=filters)
    recorder = build_access_recorder(settings, store)
    recorder.record(hits, source="cli")
    recorder.close()
    if as_json:
        click.echo(json.dumps([hit.as_dict() for hit in hits]))
        return
    out.print(f"[bold]{query}[/bold]")
    if not hits:
        out.print("  No passages found. Run `kb sync` first.")
    for rank, hit in enumerate(hits, start=1):
        where = " > ".join((hit.page_title, *hit.parent_headers))
        out.print(f"\n  [{rank}] [bold]{where}[/bold]  (score {hit.scores.final:.2f})")
        out.print(f"      {hit.url}  ·  owner {hit.owner}  ·  updated {hit.updated_at[:10]}")
        out.print("      " + _snippet(hit.text))


def _snippet(text: str, limit: int = 320) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"


@contextmanager
def _progress(*, enabled: bool) -> Iterator[Callable[[str, PageOutcome | None], None] | None]:
    if not enabled:
        yield None
        return
    columns: list[Any] = [
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=err, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def update(space_key: str, outcome: PageOutcome | None) -> None:
            if space_key not in tasks:
                tasks[space_key] = bar.add_task(f"Syncing {space_key}", total=None)
            if outcome is not None:
                bar.update(
                    tasks[space_key], advance=1, description=f"Syncing {space_key}: {outcome.title[:40]}"
                )

        yield update


@main.command("eval")
@click.option("--corpus", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--queries", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--qrels", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def eval_command(corpus: Path, queries: Path, qrels: Path, as_json: bool) -> None:
    """Score dense, keyword and hybrid retrieval on a BEIR-format collection (indexed once, then cached)."""
    settings = settings_with_logging()
    scores = evaluate(settings, corpus=corpus, queries=queries, qrels=qrels, progress=lambda m: err.print(m))
    build_publisher(settings).publish(eval_events(scores, corpus=corpus, qrels=qrels))
    if as_json:
        click.echo(json.dumps({mode: s.as_dict() for mode, s in scores.items()}))
        return
    table = Table(title=f"Retrieval quality on {corpus.parent.name} ({qrels.name})")
    for column in ("mode", "nDCG@10", "Recall@100", "MRR@10"):
        table.add_column(column, justify="right" if column != "mode" else "left")
    for mode, s in scores.items():
        table.add_row(mode, f"{s.ndcg_at_10:.4f}", f"{s.recall_at_100:.4f}", f"{s.mrr_at_10:.4f}")
    out.print(table)


@main.command()
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Decay as of this day (UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary object.")
@reports_errors
def decay(as_of: datetime | None, as_json: bool) -> None:
    """Lower the quality of content past its review interval (idempotent: safe to run again today)."""
    settings = settings_with_logging()
    now = as_of.replace(tzinfo=UTC) if as_of else datetime.now(UTC)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        MofNCompleteColumn(),
        console=err,
        disable=as_json or not err.is_terminal,
    ) as bar:
        task = bar.add_task("Decaying quality", total=None)
        summary = run_quality_decay(settings, now=now, progress=lambda n: bar.update(task, advance=n))
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
        return
    out.print(
        f"Decay as of {now:%Y-%m-%d}: {summary.chunks_seen} chunks seen, {summary.chunks_overdue} past "
        f"review, {summary.chunks_updated} scores changed, "
        f"{len(summary.pages_fell_under_threshold)} pages fell under the alert threshold."
    )


@main.command("review-queue")
@click.option("--owner", default=None, help="Only pages owned by this person (their email).")
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
@reports_errors
def review_queue_command(owner: str | None, as_json: bool) -> None:
    """Pages past their review date or under the quality threshold, worst first."""
    settings = settings_with_logging()
    now = datetime.now(UTC)
    queue = review_queue(
        ChunkStore.from_settings(settings), QualityPolicy.from_settings(settings), now=now, owner=owner
    )
    if as_json:
        click.echo(json.dumps([_attention_dict(page) for page in queue]))
        return
    if not queue:
        out.print("Nothing needs review.")
        return
    table = Table(title=f"Review queue ({len(queue)} pages)")
    for column in ("quality", "overdue", "votes", "page", "owner"):
        table.add_column(column, justify="right" if column in ("quality", "overdue", "votes") else "left")
    for page in queue:
        overdue = f"{page.overdue_days} d" if page.overdue_days else "-"
        table.add_row(f"{page.quality:.0f}", overdue, str(page.feedback_count), page.title, page.owner)
    out.print(table)


def _attention_dict(page: PageAttention) -> dict[str, object]:
    data = asdict(page)
    data["reviewed_at"] = page.reviewed_at.isoformat() if page.reviewed_at else None
    return data
