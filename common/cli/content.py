"""`kb sync` and `kb search`: bring the knowledge base up to date, and look things up in it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from rich.markup import escape

from common.cli.support import (
    access_for,
    err,
    out,
    person_watching,
    reports_errors,
    settings_with_logging,
)
from common.cli.sync_display import summary_lines, sync_bar
from common.errors import EXIT_ERRORS
from common.runtime.ingestion import build_synchronizer
from common.runtime.search import build_access_recorder, build_retriever
from common.runtime.sources import build_source
from common.runtime.store import build_store
from common.search.filters import SearchFilters


@click.command()
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
    synchronizer = build_synchronizer(settings, source=source, store=build_store(settings))
    keys = spaces or tuple(source.space_keys())
    started = time.monotonic()
    with sync_bar(err, enabled=not as_json and person_watching()) as bar:
        summary = synchronizer.run(spaces=keys, full=full, progress=bar)
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
    else:
        for line in summary_lines(summary, spaces=keys, seconds=time.monotonic() - started):
            out.print(line, highlight=False)
        for detail in summary.error_details:
            err.print(f"[red]error[/red] {escape(str(detail))}")
    if summary.errors:
        sys.exit(EXIT_ERRORS)


@click.command()
@click.argument("query")
@click.option("--top-k", default=5, show_default=True, type=click.IntRange(1, 50))
@click.option("--space", default=None, help="Only this space.")
@click.option(
    "--as",
    "as_email",
    default=None,
    metavar="EMAIL",
    help="Search what this person may read (a DM's access).",
)
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@reports_errors
def search(query: str, top_k: int, space: str | None, as_email: str | None, as_json: bool) -> None:
    """Print the passages that best answer QUERY, with their sources (without --as: what all may read)."""
    settings = settings_with_logging()
    filters = SearchFilters(spaces=(space,) if space else ())
    store = build_store(settings)
    access = access_for(settings, as_email, "im")
    if access.note:
        err.print(f"[yellow]{escape(access.note)}[/yellow]")
    hits = build_retriever(settings, store).search(query, top_k=top_k, filters=filters, reader=access.reader)
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
