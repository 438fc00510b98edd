"""A burst of feedback clicks on one answer, and what one vote costs as a chunk's votes grow.

    python bench/vote_burst.py [--clicks 1000] [--threads 16] [--probes 20] [--json]

The sample space is synced into a real Chroma server and `slack_actions` runs as its own functions-framework
process (as on Cloud Run: gunicorn, one worker, threads) with a Slack Web API stand-in for what it does after
acknowledging. One answer cites 5 chunks of the sample space.

1. One vote's cost: `--probes` clicks, one at a time, from new users while the cited chunks hold about one
   vote (`vote_ms_at_1`, the median click → 200), and again after the burst, when they hold `--clicks` votes
   (`vote_ms_at_1000` when `--clicks` is 1000); `cost_ratio` is the second over the first. Both are measured
   in this run, on this server.
2. The burst: `--clicks` signed 👍 clicks from as many distinct users, `--threads` at a time. A click's time
   is until Slack gets its 200, which the app sends after the quality write. Everything is then read back from
   Chroma: a click is counted when its vote is on every cited chunk, and each chunk's `feedback_count` must
   equal the votes on it.

With `--baseline-rev REV`, the same run first measures `slack_actions` served from that revision (a git
worktree, its own Chroma server, same clicks): its figures are printed beside this checkout's and the JSON
adds them prefixed `baseline_`.

With `--json`, one JSON object: `clicks`, `counted`, `click_p50_ms`, `click_p95_ms`, `clicks_over_3s`,
`vote_ms_at_1`, `vote_ms_at_1000`, `cost_ratio`, plus `threads`, `errors`, `feedback_count_min`,
`feedback_count_max`, `thanks_posted`, `logged_problems` and the machine's load average when it ran.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx
from rich.console import Console
from rich.table import Table

from bench.baseline_checkout import baseline_checkout
from bench.load import (
    CLICK_FIXTURE,
    SECRET,
    SLACK_ACK_MS,
    click_body,
    count_votes,
    logged_problems,
    p,
    run_clients,
    wait_for_thanks,
)
from common.config import SAMPLE_SPACE_DIR, load_settings
from common.confluence.folder_source import FolderPageSource
from common.logs import configure_logging
from common.runtime.store import build_store
from common.slack.feedback_blocks import AnswerRef
from tests.support.chroma_server import ChromaServer
from tests.support.function_service import FunctionService
from tests.support.runs import run_sync
from tests.support.slack_signing import sign
from tests.support.slack_standin import SlackStandin

CITED_CHUNKS = 5
QUESTION = "How do I connect to the VPN from home?"


def five_cited_chunks(settings_kwargs: dict[str, Any]) -> AnswerRef:
    store = build_store(load_settings(**settings_kwargs))
    metas = store.get_metadata(where={"page_id": {"$ne": ""}})
    chosen = sorted(metas.items())[:CITED_CHUNKS]
    cited = tuple((chunk_id, meta.page_id) for chunk_id, meta in chosen)
    return AnswerRef(answer_id=f"A-burst-{uuid.uuid4().hex[:8]}", question=QUESTION, cited=cited)


class Clicker:
    """Signed clicks on one answer from users never seen before, one per user."""

    def __init__(self, url: str, ref: AnswerRef, slack: SlackStandin) -> None:
        self._url = url
        self._ref = ref
        self._slack = slack
        self._template = json.loads(CLICK_FIXTURE.read_text())
        self.users: list[str] = []

    def bodies(self, count: int, prefix: str) -> list[bytes]:
        users = [f"{prefix}{n:06d}" for n in range(count)]
        self.users.extend(users)
        return [click_body(self._template, self._ref, user, self._slack.response_url()) for user in users]

    def send(self, client: httpx.Client, body: bytes) -> httpx.Response:
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)}
        return client.post(self._url, content=body, headers=headers)

    def probe(self, count: int, prefix: str) -> float:
        """The median time of `count` clicks sent one after another."""
        times: list[float] = []
        with httpx.Client(timeout=30) as client:
            for body in self.bodies(count, prefix):
                started = time.perf_counter()
                self.send(client, body).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)


def measure(work: Path, args: argparse.Namespace, checkout: Path | None, console: Console) -> dict[str, Any]:
    """The probes and the burst against `slack_actions` served from `checkout` (this one when None), on a
    Chroma server of its own holding the freshly synced sample space."""
    server = ChromaServer(work / "chroma").start()
    try:
        console.print("Syncing the sample space into the Chroma server…")
        kwargs: dict[str, Any] = {"kb_home": work / "kb-home", "chroma_url": server.url}
        settings = load_settings(**kwargs, chroma_timeout_seconds=60)
        run_sync(settings, source=FolderPageSource(SAMPLE_SPACE_DIR))
        ref = five_cited_chunks(kwargs)
        with SlackStandin() as slack:
            env = {
                "KB_HOME": str(work / "kb-home"),
                "CHROMA_URL": server.url,
                "LOG_LEVEL": "WARNING",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_BOT_TOKEN": "xoxb-bench",
                "SLACK_API_URL": slack.api_url,
            }
            actions = FunctionService("slack_actions", env, log_dir=work / "logs", checkout=checkout).start()
            try:
                clicker = Clicker(actions.url, ref, slack)
                console.print(f"One vote's cost with about one vote per chunk ({args.probes} clicks)…")
                at_first = clicker.probe(args.probes, "UFIRST")
                console.print(f"{args.clicks} clicks, {args.threads} at a time…")
                burst = clicker.bodies(args.clicks, "UBURST")
                clicks = run_clients(args.threads, len(burst), 3600, lambda c, n: clicker.send(c, burst[n]))
                console.print(f"One vote's cost with {args.clicks + args.probes} votes per chunk…")
                at_many = clicker.probe(args.probes, "ULATER")
                thanks = wait_for_thanks(slack, len(clicker.users))
            finally:
                actions.stop()
        counted, _stored, feedback_counts = count_votes(build_store(settings), ref, clicker.users)
    finally:
        server.stop()
    return {
        "clicks": args.clicks + 2 * args.probes,
        "counted": counted,
        "burst_clicks": clicks.sent,
        "threads": args.threads,
        "errors": clicks.error_count(),
        "error_kinds": clicks.errors,
        "click_p50_ms": round(p(clicks.latencies_ms, 50), 1),
        "click_p95_ms": round(p(clicks.latencies_ms, 95), 1),
        "clicks_over_3s": sum(ms > SLACK_ACK_MS for ms in clicks.latencies_ms) + clicks.error_count(),
        "vote_ms_at_1": round(at_first, 1),
        f"vote_ms_at_{args.clicks}": round(at_many, 1),
        "cost_ratio": round(at_many / at_first, 2),
        "cited_chunks": len(ref.cited),
        "feedback_count_min": min(feedback_counts),
        "feedback_count_max": max(feedback_counts),
        "thanks_posted": thanks,
        "logged_problems": logged_problems(work / "logs"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clicks", type=int, default=1000, help="clicks in the burst, one per user")
    parser.add_argument("--threads", type=int, default=16, help="clicks sent at once")
    parser.add_argument("--probes", type=int, default=20, help="one-at-a-time clicks per cost probe")
    parser.add_argument(
        "--baseline-rev", default=None, help="first measure slack_actions served from this git revision"
    )
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = parser.parse_args()
    configure_logging(log_format="console", level="WARNING")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    console = Console(stderr=True)
    baseline: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="kb-bench-votes-") as scratch:
        work = Path(scratch)
        if args.baseline_rev:
            with baseline_checkout(args.baseline_rev, work / "baseline-checkout") as checkout:
                console.print(f"Baseline: slack_actions of {args.baseline_rev}…")
                baseline = measure(work / "baseline", args, checkout, console)
        console.print("This checkout…")
        result = measure(work / "current", args, None, console)
    result["load_average"] = [round(value, 2) for value in os.getloadavg()]
    if baseline is not None:
        result["baseline_rev"] = args.baseline_rev
        result.update(
            {f"baseline_{key}": value for key, value in baseline.items() if key != "logged_problems"}
        )
    if args.json:
        print(json.dumps(result))
        return
    Console().print(_table(result, baseline, args))


def _table(result: dict[str, Any], baseline: dict[str, Any] | None, args: argparse.Namespace) -> Table:
    many_key = f"vote_ms_at_{args.clicks}"
    runs = [("this checkout", result)] + ([(f"baseline {args.baseline_rev}", baseline)] if baseline else [])
    table = Table(title=f"A burst of clicks on one answer citing {result['cited_chunks']} chunks")
    table.add_column("measure")
    for name, _ in runs:
        table.add_column(name, justify="right")
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("clicks sent in all (probes and burst)", lambda r: f"{r['clicks']:,}"),
        ("  counted (vote on every cited chunk)", lambda r: f"{r['counted']:,}"),
        (
            "  cited chunks' feedback_count",
            lambda r: f"{r['feedback_count_min']:,} to {r['feedback_count_max']:,}",
        ),
        (f"burst of {args.clicks:,}, {args.threads} at a time: p50 (ms)", lambda r: f"{r['click_p50_ms']}"),
        ("  p95 (ms)", lambda r: f"{r['click_p95_ms']}"),
        ("  over Slack's 3 s, or failed", lambda r: f"{r['clicks_over_3s']:,}"),
        ("one vote, chunks holding ~1 vote (median ms)", lambda r: f"{r['vote_ms_at_1']}"),
        (f"one vote, chunks holding ~{args.clicks:,} votes (median ms)", lambda r: f"{r[many_key]}"),
        ("cost ratio", lambda r: f"{r['cost_ratio']}x"),
        ("thank-yous posted", lambda r: f"{r['thanks_posted']:,}"),
    ]
    for label, cell in rows:
        table.add_row(label, *(cell(run) for _, run in runs))
    table.add_row("load average (1, 5, 15 min)", " ".join(str(v) for v in result["load_average"]))
    for problem, count in sorted(result["logged_problems"].items()):
        table.add_row(f"slack_actions logged {problem}", f"{count:,}")
    return table


if __name__ == "__main__":
    main()
