"""`kb eval`: retrieval quality on a BEIR-format collection, for the three modes the product can run in."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from common.cli.support import err, out, reports_errors, settings_with_logging
from common.evaluation.beir import eval_events, evaluate
from common.runtime.evaluation import build_beir_retrievers
from common.runtime.publishing import build_publisher


@click.command("eval")
@click.option("--corpus", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--queries", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--qrels", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def eval_command(corpus: Path, queries: Path, qrels: Path, as_json: bool) -> None:
    """Score dense, keyword and hybrid retrieval on a BEIR-format collection (indexed once, then cached)."""
    settings = settings_with_logging()
    scores = evaluate(
        build_beir_retrievers(settings, corpus),
        corpus=corpus,
        queries=queries,
        qrels=qrels,
        progress=lambda m: err.print(m),
    )
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
