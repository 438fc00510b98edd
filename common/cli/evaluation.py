"""`kb eval`: retrieval quality on a BEIR-format collection, for the three modes the product can run in, or
the bot's answers to a golden-questions file, with minimums so CI can fail on a regression."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from common.cli.support import access_for, err, out, reports_errors, settings_with_logging
from common.errors import EXIT_ERRORS
from common.evaluation.beir import eval_events, evaluate
from common.evaluation.golden import (
    GoldenScores,
    below_minimums,
    golden_event,
    load_golden_questions,
    score_golden,
)
from common.runtime.evaluation import build_answer_probe, build_beir_retrievers
from common.runtime.publishing import build_publisher
from common.runtime.store import build_store

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_SHARE = click.FloatRange(0.0, 1.0)


@click.command("eval")
@click.option("--corpus", type=_FILE, help="BEIR corpus.jsonl (with --queries and --qrels).")
@click.option("--queries", type=_FILE, help="BEIR queries.jsonl.")
@click.option("--qrels", type=_FILE, help="BEIR qrels .tsv file.")
@click.option(
    "--questions",
    type=_FILE,
    metavar="FILE.jsonl",
    help='Golden questions: {"question", "expected_pages", "expect_decline"} a line.',
)
@click.option("--min-hit-at-3", type=_SHARE, default=None, help="With --questions: exit 1 if hit@3 is lower.")
@click.option("--min-cited", type=_SHARE, default=None, help="With --questions: exit 1 if cited is lower.")
@click.option(
    "--as",
    "as_email",
    default=None,
    metavar="EMAIL",
    help="With --questions: answer with this person's access.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def eval_command(
    corpus: Path | None,
    queries: Path | None,
    qrels: Path | None,
    questions: Path | None,
    min_hit_at_3: float | None,
    min_cited: float | None,
    as_email: str | None,
    as_json: bool,
) -> None:
    """Score retrieval on a BEIR-format collection (--corpus, --queries, --qrels), or the bot's answers to
    golden questions (--questions FILE.jsonl) as it would answer them in a channel."""
    beir = (corpus, queries, qrels)
    if questions is not None:
        if any(path is not None for path in beir):
            raise click.UsageError("Give either --questions or --corpus/--queries/--qrels, not both.")
        _golden(questions, min_hit_at_3=min_hit_at_3, min_cited=min_cited, as_email=as_email, as_json=as_json)
        return
    if corpus is None or queries is None or qrels is None:
        raise click.UsageError(
            "Give --corpus, --queries and --qrels (a BEIR collection), or --questions FILE.jsonl."
        )
    if (min_hit_at_3, min_cited, as_email) != (None, None, None):
        raise click.UsageError("--min-hit-at-3, --min-cited and --as apply to --questions only.")
    _beir(corpus, queries, qrels, as_json=as_json)


def _beir(corpus: Path, queries: Path, qrels: Path, *, as_json: bool) -> None:
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


def _golden(
    path: Path, *, min_hit_at_3: float | None, min_cited: float | None, as_email: str | None, as_json: bool
) -> None:
    """`--as` resolves access as a direct message would, or it could never differ from everyone's."""
    settings = settings_with_logging()
    golden = load_golden_questions(path)
    access = access_for(settings, as_email, "im")
    if access.note:
        err.print(f"[yellow]{escape(access.note)}[/yellow]")
    scores = score_golden(golden, build_answer_probe(settings, build_store(settings), access.reader))
    build_publisher(settings).publish([golden_event(scores, path=path, run_id=uuid.uuid4().hex)])
    if as_json:
        click.echo(json.dumps(scores.as_dict()))
    else:
        _print_golden(scores, path)
    minimums = {"hit@3": min_hit_at_3, "cited": min_cited}
    problems = below_minimums(scores, {name: m for name, m in minimums.items() if m is not None})
    for problem in problems:
        err.print(f"[red]Below minimum:[/red] {escape(problem)}")
    if problems:
        sys.exit(EXIT_ERRORS)


def _print_golden(scores: GoldenScores, path: Path) -> None:
    table = Table(title=f"Golden questions ({path.name})")
    table.add_column("question")
    for column in ("rank", "cited", "declined", "expect decline"):
        table.add_column(column, justify="right")
    for r in scores.per_question:
        rank = "-" if r.rank is None else str(r.rank)
        table.add_row(
            r.question.question, rank, _yes(r.cited), _yes(r.declined), _yes(r.question.expect_decline)
        )
    out.print(table)
    summary = Table(title="Summary")
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    for name, value in scores.metrics().items():
        summary.add_row(name, "n/a" if value is None else f"{value:.4f}")
    out.print(summary)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
