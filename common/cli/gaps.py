"""`kb gaps`: the topics people asked about lately and did not get a good answer to."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click
from rich.table import Table

from common.analytics.gap_questions import bad_questions
from common.cli.support import out, reports_errors, settings_with_logging
from common.runtime.events import analytics_copies
from common.runtime.gaps import build_gap_analysis
from common.runtime.store import build_store


@click.command()
@click.option("--days", type=click.IntRange(min=1), default=7, show_default=True, help="Days to look back.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@reports_errors
def gaps(days: int, as_json: bool) -> None:
    """Declined, negatively rated or frustrating questions, grouped into topics a new page could answer."""
    settings = settings_with_logging()
    until = datetime.now(UTC)
    since = until - timedelta(days=days)
    with analytics_copies(settings) as paths:
        questions = bad_questions(paths, since=since, until=until)
    topics = build_gap_analysis(settings, build_store(settings)).topics(questions)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "since": since.isoformat(),
                    "until": until.isoformat(),
                    "bad_questions": len(questions),
                    "topics": [topic.as_dict() for topic in topics],
                }
            )
        )
        return
    if not topics:
        out.print(f"No gap topics in the last {days} days ({len(questions)} questions answered badly).")
        return
    table = Table(title=f"Gaps, last {days} days ({len(questions)} questions answered badly)")
    for column in ("suggested page", "questions", "why", "space", "owners", "asked, for example"):
        table.add_column(column, justify="right" if column == "questions" else "left")
    for topic in topics:
        samples = [f"“{sample}”" for sample in topic.samples]
        if topic.direct_messages:
            samples.append(f"+{topic.direct_messages} in direct messages")
        table.add_row(
            topic.title,
            str(topic.size),
            ", ".join(f"{count} {reason.replace('_', ' ')}" for reason, count in topic.reasons.items()),
            topic.space_key or "-",
            "\n".join(topic.owners) or "-",
            "\n".join(samples),
        )
    out.print(table)
