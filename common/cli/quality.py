"""`kb decay` and `kb review-queue`: keep content quality up, and see what needs an owner's look."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime

import click
from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from common.cli.support import err, out, reports_errors, settings_with_logging
from common.quality.daily import run_daily_quality
from common.quality.obsolescence import ObsoletePage
from common.quality.review_queue import PageAttention, review_queue
from common.runtime.events import analytics_copies
from common.runtime.gaps import possibly_obsolete
from common.runtime.publishing import build_publisher
from common.runtime.quality import build_feedback, build_quality_policy
from common.runtime.store import build_store


@click.command()
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Decay as of this day (UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary object.")
@reports_errors
def decay(as_of: datetime | None, as_json: bool) -> None:
    """Lower the quality of content past its review interval (idempotent: safe to run again today)."""
    settings = settings_with_logging()
    now = as_of.replace(tzinfo=UTC) if as_of else datetime.now(UTC)
    store = build_store(settings)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        MofNCompleteColumn(),
        console=err,
        disable=as_json or not err.is_terminal,
    ) as bar:
        task = bar.add_task("Decaying quality", total=None)
        summary = run_daily_quality(
            store=store,
            feedback=build_feedback(settings, store),
            publisher=build_publisher(settings),
            now=now,
            progress=lambda n: bar.update(task, advance=n),
        )
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
        return
    out.print(
        f"Decay as of {now:%Y-%m-%d}: {summary.chunks_seen} chunks seen, {summary.chunks_overdue} past "
        f"review, {summary.chunks_updated} scores changed, "
        f"{len(summary.pages_fell_under_threshold)} pages fell under the alert threshold."
    )


@click.command("review-queue")
@click.option("--owner", default=None, help="Only pages owned by this person (their email).")
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
@reports_errors
def review_queue_command(owner: str | None, as_json: bool) -> None:
    """Pages past their review date or under the quality threshold, worst first; then pages that may be
    obsolete, with why."""
    settings = settings_with_logging()
    now = datetime.now(UTC)
    store = build_store(settings)
    queue = review_queue(store, build_quality_policy(settings), now=now, owner=owner)
    with analytics_copies(settings) as paths:
        obsolete = possibly_obsolete(settings, store, paths, now=now, owner=owner)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "pages": [_attention_dict(page) for page in queue],
                    "possibly_obsolete": [page.as_dict() for page in obsolete],
                }
            )
        )
        return
    if not queue and not obsolete:
        out.print("Nothing needs review.")
        return
    if queue:
        out.print(_queue_table(queue))
    if obsolete:
        out.print(_obsolete_table(obsolete))


def _queue_table(queue: list[PageAttention]) -> Table:
    table = Table(title=f"Review queue ({len(queue)} pages)")
    for column in ("quality", "overdue", "votes", "page", "owner"):
        table.add_column(column, justify="right" if column in ("quality", "overdue", "votes") else "left")
    for page in queue:
        overdue = f"{page.overdue_days} d" if page.overdue_days else "-"
        table.add_row(f"{page.quality:.0f}", overdue, str(page.feedback_count), page.title, page.owner)
    return table


def _obsolete_table(pages: list[ObsoletePage]) -> Table:
    table = Table(title=f"Possibly obsolete ({len(pages)} pages)")
    for column in ("page", "owner", "why"):
        table.add_column(column)
    for page in pages:
        table.add_row(page.title, page.owner, "; ".join(page.reasons))
    return table


def _attention_dict(page: PageAttention) -> dict[str, object]:
    data = asdict(page)
    data["reviewed_at"] = page.reviewed_at.isoformat() if page.reviewed_at else None
    return data
