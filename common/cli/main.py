"""`kb`, the command line: thin commands that parse flags, call the library and print.

One module per command group; exit statuses are those of `common.errors`.
"""

from __future__ import annotations

from pathlib import Path

import click

from common.cli.analytics import analytics, report
from common.cli.bot import ask, serve
from common.cli.content import search, sync
from common.cli.documents import approvers_group, doc_group
from common.cli.evaluation import eval_command
from common.cli.gaps import gaps
from common.cli.links import links_group
from common.cli.ops import backup_command, rebuild_quality_command, restore_command
from common.cli.quality import decay, review_queue_command
from common.cli.support import LogOptions


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Show info logs on a terminal too.")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Append logs (JSON lines) to this file instead of the terminal.",
)
@click.pass_context
def main(context: click.Context, verbose: bool, log_file: Path | None) -> None:
    """The knowledge base: sync Confluence into Chroma, search it, and keep its quality up."""
    context.obj = LogOptions(verbose=verbose, file=log_file)


for command in (
    sync,
    search,
    eval_command,
    decay,
    review_queue_command,
    gaps,
    ask,
    serve,
    analytics,
    report,
    backup_command,
    restore_command,
    rebuild_quality_command,
    doc_group,
    approvers_group,
    links_group,
):
    main.add_command(command)
