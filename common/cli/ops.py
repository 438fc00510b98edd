"""`kb backup`, `kb restore` and `kb rebuild-quality`: the collection with every companion, to and from a
folder or GCS, and the quality a rebuilt store gets back from the analytics events."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import click

from common.cli.support import err, out, reports_errors, settings_with_logging
from common.ops.backup import backup, list_backups, restore
from common.ops.quality_rebuild import rebuild_quality
from common.runtime.ai import build_embedder
from common.runtime.events import build_period_files
from common.runtime.ops import build_backup_target
from common.runtime.quality import build_quality_writer
from common.runtime.store import build_store


@click.command("backup")
@click.option(
    "--to", "location", default=None, help="A folder or gs://bucket/prefix (default: KB_HOME/backups)."
)
@click.option("--list", "listing", is_flag=True, help="List the finished backups there instead.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def backup_command(location: str | None, listing: bool, as_json: bool) -> None:
    """Export every chunk (text, embedding, metadata) and every companion record (votes, sync cursors,
    owner notices) as Parquet, with a manifest."""
    settings = settings_with_logging()
    where = location or settings.backup_root
    if listing:
        manifests = list_backups(build_backup_target(settings, where))
        if as_json:
            click.echo(json.dumps([json.loads(m.to_json()) for m in manifests]))
            return
        for manifest in manifests:
            counts = _counts(manifest.chunk_count, manifest.companion_counts)
            out.print(f"{manifest.name}  {counts}  ({manifest.collection})")
        return
    store = build_store(settings)
    manifest = backup(
        store,
        build_backup_target(settings, where),
        model_id=build_embedder(settings).model_id,
        progress=lambda n: err.print(f"  {n} chunks written") if not as_json else None,
    )
    if as_json:
        click.echo(json.dumps(json.loads(manifest.to_json())))
        return
    out.print(f"Backup {manifest.name}: {_counts(manifest.chunk_count, manifest.companion_counts)} → {where}")


@click.command("restore")
@click.argument("location")
@click.option("--name", default=None, help="Which backup (default: the latest).")
@click.option("--collection", default=None, help="Restore into this collection (default: CHROMA_COLLECTION).")
@click.option("--force", is_flag=True, help="Restore into a collection that is not empty.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def restore_command(
    location: str, name: str | None, collection: str | None, force: bool, as_json: bool
) -> None:
    """Load a backup into an empty collection, checking checksums and the embedding model first."""
    settings = settings_with_logging()
    summary = restore(
        build_backup_target(settings, location),
        build_store(settings, collection_name=collection),
        model_id=build_embedder(settings).model_id,
        name=name,
        force=force,
    )
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(summary)))
        return
    out.print(
        f"Restored {summary.name}: {_counts(summary.chunks, summary.companions)} into {summary.collection}."
    )


@click.command("rebuild-quality")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary object.")
@reports_errors
def rebuild_quality_command(as_json: bool) -> None:
    """Restore votes and access counts missing from Chroma from the analytics events, and rescore."""
    settings = settings_with_logging()
    store = build_store(settings)
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


def _counts(chunks: int, companions: dict[str, int]) -> str:
    return ", ".join([f"{chunks} chunks", *(f"{count} {name}" for name, count in companions.items())])
