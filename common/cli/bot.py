"""`kb ask` and `kb serve`: the Slack bot from a terminal, and every endpoint on one local port."""

from __future__ import annotations

import json
import time
import uuid

import click
from rich.markup import escape

from common.answers.composer import compose_answer
from common.answers.records import answer_events
from common.cli.support import access_for, err, out, reports_errors, settings_with_logging
from common.runtime.ai import build_answer_writer
from common.runtime.publishing import build_publisher
from common.runtime.search import build_access_recorder, build_retriever
from common.runtime.slack import build_channel_policy
from common.runtime.store import build_store

CLI_USER = "cli"
"""Who asked, in analytics: never the `--as` address (analytics keep no emails)."""


@click.command()
@click.argument("question")
@click.option(
    "--conversation",
    type=click.Choice(["channel", "group", "im"]),
    default="im",
    show_default=True,
    help="Answer as the bot would in a public channel, a private channel or a direct message.",
)
@click.option(
    "--as", "as_email", default=None, metavar="EMAIL", help="Answer as this person would be (their access)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the answer and its sources as JSON.")
@reports_errors
def ask(question: str, conversation: str, as_email: str | None, as_json: bool) -> None:
    """Print what the Slack bot would answer to QUESTION (without --as: from what everyone may read).

    Recorded in analytics like a Slack question (source `cli`), so the report shows it."""
    settings = settings_with_logging()
    started = time.perf_counter()
    store = build_store(settings)
    access = access_for(settings, as_email, conversation)
    composed = compose_answer(
        retriever=build_retriever(settings, store),
        writer=build_answer_writer(settings),
        question=question,
        ceiling=build_channel_policy(settings).ceiling(conversation),
        reader=access.reader,
    )
    answer_id = uuid.uuid4().hex
    build_publisher(settings).publish(
        answer_events(
            composed,
            question_id=uuid.uuid4().hex,
            answer_id=answer_id,
            user_id=CLI_USER,
            channel_type=conversation,
            question=question,
            latency_ms=(time.perf_counter() - started) * 1000,
            source="cli",
        )
    )
    recorder = build_access_recorder(settings, store)
    recorder.record(composed.shown() if composed.found else [], source="cli", query_id=answer_id)
    recorder.close()
    sources = [
        {"number": p.number, "title": p.title, "url": p.url, "space": r.space_key, "owner": r.owner}
        for p, r in zip(composed.passages, composed.results, strict=True)
        if p.number in composed.answer.cited
    ]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "answer": composed.answer.text,
                    "found": composed.found,
                    "sources": sources,
                    "access": {"status": access.status, "note": access.note},
                }
            )
        )
        return
    out.print(composed.answer.text)
    if access.note:
        err.print(f"[yellow]{escape(access.note)}[/yellow]")
    for source in sources:
        where = f"{source['url']} ({source['space']}, {source['owner']})"
        out.print(f"  [{source['number']}] {source['title']} — {where}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@reports_errors
def serve(host: str, port: int) -> None:
    """Serve /slack/events, /slack/actions and /search on one port (point a tunnel at it)."""
    from common.cli.serve import create_local_app

    settings = settings_with_logging()
    app, _ = create_local_app(settings)
    out.print(f"Serving on http://{host}:{port}: /slack/events, /slack/actions, /search, /healthz")
    app.run(host=host, port=port, threaded=True)
