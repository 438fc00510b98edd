"""`kb backup` and `kb restore`: the whole collection, votes included, to and from a folder or GCS."""

from __future__ import annotations

import dataclasses
import json

import click

from common.backup import backup, backup_target_from, list_backups, restore
from common.cli_support import err, out, reports_errors, settings_with_logging
from common.embeddings import embedder_from_settings
from common.vectorstore import ChunkStore


@click.command("backup")
@click.option(
    "--to", "location", default=None, help="A folder or gs://bucket/prefix (default: KB_HOME/backups)."
)
@click.option("--list", "listing", is_flag=True, help="List the finished backups there instead.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def backup_command(location: str | None, listing: bool, as_json: bool) -> None:
    """Export every chunk (text, embedding, metadata) and every vote as Parquet, with a manifest."""
    settings = settings_with_logging()
    where = location or settings.backup_root
    if listing:
        manifests = list_backups(where, settings)
        if as_json:
            click.echo(json.dumps([json.loads(m.to_json()) for m in manifests]))
            return
        for manifest in manifests:
            counts = f"{manifest.chunk_count} chunks, {manifest.vote_count} votes"
            out.print(f"{manifest.name}  {counts}  ({manifest.collection})")
        return
    store = ChunkStore.from_settings(settings)
    manifest = backup(
        store,
        backup_target_from(where, settings),
        model_id=embedder_from_settings(settings).model_id,
        progress=lambda n: err.print(f"  {n} chunks written") if not as_json else None,
    )
    if as_json:
        click.echo(json.dumps(json.loads(manifest.to_json())))
        return
    out.print(f"Backup {manifest.name}: {manifest.chunk_count} chunks, {manifest.vote_count} votes → {where}")


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
        backup_target_from(location, settings),
        ChunkStore.from_settings(settings, collection_name=collection),
        model_id=embedder_from_settings(settings).model_id,
        name=name,
        force=force,
    )
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(summary)))
        return
    counts = f"{summary.chunks} chunks and {summary.votes} votes"
    out.print(f"Restored {summary.name}: {counts} into {summary.collection}.")
