"""Load: many concurrent clients on the search function, then a burst of feedback clicks, all on loopback.

    python bench/load.py [--clients 8] [--seconds 60] [--max-requests 100000]
                         [--votes 1000] [--vote-clients 16] [--vote-seconds 600] [--json]

The sample space is synced into a real Chroma server; the `search` and `slack_actions` targets run as their
own functions-framework processes (as on Cloud Run: gunicorn, threads, and for this checkout's search the
workers terraform gives it, `DEPLOYED_ENV`), configured only by their environment, with a Slack Web API
stand-in for what `slack_actions` does after acknowledging.

1. Search: after a warm-up (the first request loads the embedding model), `--clients` threads, each with its
   own HTTP connection, POST `{"query", "top_k": 10}` back to back for `--seconds` or until `--max-requests`
   have been sent, questions taken round-robin from the search benchmark's list. Throughput counts the
   requests answered 200 over the wall time; p50/p95/p99 are their latencies; an error is any other status
   or a transport error (timeout 30 s).
2. Feedback: one answer (the top passages for a question, cited as the Slack bot cites them, with its
   feedback buttons) gets `--votes` signed 👍 clicks from as many distinct users, sent by `--vote-clients`
   threads at once (no new click after `--vote-seconds`). The app answers Slack after the quality write,
   so a click's latency includes it. Then everything is read back from Chroma: a click is counted when its
   vote is stored on every cited chunk, and each chunk's `feedback_count` must equal the votes stored on
   it. Each click is a distinct user, so every one sent should be counted, including those whose client
   gave up waiting (the app still handles them; their thank-yous are awaited before reading back).

With `--baseline-rev REV`, a search function served from that revision (a git worktree, same data, same
clients) runs beside this checkout's (with any `--env` settings), and each gets `--seconds` of load in
halves, in the order baseline, this checkout, this checkout, baseline (`load_interleaved`): the
JSON adds `baseline_search_rps`, `baseline_search_p50_ms`, `baseline_search_p95_ms`, `baseline_search_errors`,
`search_rps_ratio` and `search_p95_ratio` (this checkout over the baseline).

With `--json`, one JSON object: `search_rps`, `search_p50_ms`, `search_p95_ms`, `search_p99_ms`,
`search_requests`, `search_errors`, `clients`, `seconds`, `votes_requested`, `votes_sent`, `votes_counted`,
`vote_errors`, `vote_p50_ms`, `vote_p95_ms`, `vote_p99_ms`, `votes_acked_within_3s` (Slack's limit),
`votes_per_second`, `feedback_count_min`, `feedback_count_max`, `thanks_posted`, and `logged_problems`
(the warnings and errors the two function processes logged, by event).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import logging
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.runtime.store import build_store

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from bench.baseline_checkout import baseline_checkout
from bench.search_latency import QUERIES
from common.config import SAMPLE_SPACE_DIR, load_settings
from common.confluence.folder_source import FolderPageSource
from common.logs import configure_logging
from common.slack.feedback_blocks import AnswerRef, feedback_actions
from common.store.chunk_store import ChunkStore
from common.store.votes import VoteStore
from tests.support.chroma_server import ChromaServer
from tests.support.function_service import FunctionService
from tests.support.runs import run_sync
from tests.support.slack_signing import form_body, sign
from tests.support.slack_standin import SlackStandin
from tests.support.system import DEPLOYED_ENV

SECRET = "bench-secret"
CLICK_FIXTURE = REPO.parent / "shared" / "fixtures" / "slack" / "bolt-python__block_actions__button.json"
VOTED_QUESTION = "How do I connect to the VPN from home?"
CITED_RESULTS = 3
REQUEST_TIMEOUT_SECONDS = 30.0
WARMUP_TIMEOUT_SECONDS = 180.0
SETTLE_SECONDS = 300.0
SLACK_ACK_MS = 3000.0


@dataclass
class Outcomes:
    """What the client threads saw: latencies of 200s, and the other answers by kind."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    wall_seconds: float = 0.0

    def error_count(self) -> int:
        return sum(self.errors.values())


def p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run_clients(
    clients: int,
    limit: int,
    deadline_seconds: float,
    request: Callable[[httpx.Client, int], httpx.Response],
) -> Outcomes:
    """`clients` threads, one connection each, sending request n = 0, 1, … until `limit` were taken or the
    deadline passed; every request is timed and every non-200 or transport error is counted by kind."""
    outcomes = Outcomes()
    lock = threading.Lock()
    next_n = iter(range(limit))
    started = time.perf_counter()
    deadline = started + deadline_seconds

    def client_loop() -> None:
        with httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS) as client:
            while time.perf_counter() < deadline:
                with lock:
                    n = next(next_n, None)
                    if n is None:
                        return
                    outcomes.sent += 1
                sent_at = time.perf_counter()
                try:
                    response = request(client, n)
                    error = None if response.status_code == 200 else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    error = type(exc).__name__
                elapsed_ms = (time.perf_counter() - sent_at) * 1000
                with lock:
                    if error is None:
                        outcomes.latencies_ms.append(elapsed_ms)
                    else:
                        outcomes.errors[error] = outcomes.errors.get(error, 0) + 1

    threads = [threading.Thread(target=client_loop, name=f"client-{i}", daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes.wall_seconds = time.perf_counter() - started
    return outcomes


def warm_up(url: str) -> None:
    """Each question once: the first request loads the model and the keyword index."""
    with httpx.Client(timeout=WARMUP_TIMEOUT_SECONDS) as client:
        for query in QUERIES:
            client.post(url, json={"query": query, "top_k": 10}).raise_for_status()


def load_search(url: str, clients: int, seconds: float, max_requests: int) -> Outcomes:
    def search(client: httpx.Client, n: int) -> httpx.Response:
        return client.post(url, json={"query": QUERIES[n % len(QUERIES)], "top_k": 10})

    return run_clients(clients, max_requests, seconds, search)


def load_interleaved(baseline_url: str, url: str, args: argparse.Namespace) -> tuple[Outcomes, Outcomes]:
    """Each side's load in two halves, baseline first and last: the machine's drift, and Chroma settling
    after the sync, fall on both sides alike (run one after the other, identical code measured up to 1.6 times
    faster second)."""
    half, requests = args.seconds / 2, args.max_requests // 2
    first = load_search(baseline_url, args.clients, half, requests)
    mine = [load_search(url, args.clients, half, requests) for _ in range(2)]
    last = load_search(baseline_url, args.clients, half, requests)
    return combined([first, last]), combined(mine)


def combined(parts: list[Outcomes]) -> Outcomes:
    errors: dict[str, int] = {}
    for part in parts:
        for kind, count in part.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    return Outcomes(
        latencies_ms=[ms for part in parts for ms in part.latencies_ms],
        errors=errors,
        sent=sum(part.sent for part in parts),
        wall_seconds=sum(part.wall_seconds for part in parts),
    )


def answer_ref(search_url: str) -> AnswerRef:
    """The answer the bot would give: its top passages, cited chunk by chunk as `answer_blocks` cites."""
    response = httpx.post(search_url, json={"query": VOTED_QUESTION, "top_k": CITED_RESULTS}, timeout=60)
    response.raise_for_status()
    results = response.json()["results"]
    cited = tuple((chunk_id, r["page_id"]) for r in results for chunk_id in r["chunk_ids"])
    return AnswerRef(answer_id=f"A-load-{uuid.uuid4().hex[:8]}", question=VOTED_QUESTION, cited=cited)


def click_body(template: dict[str, Any], ref: AnswerRef, user: str, response_url: str) -> bytes:
    """A 👍 click by `user` under the answer, shaped like Slack's (the shared bolt fixture)."""
    payload = copy.deepcopy(template)
    payload["user"].update(id=user, username=user, name=user)
    payload["response_url"] = response_url
    payload["message"] = {
        "type": "message",
        "ts": "111.222",
        "text": "answer",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "Use GlobalProtect."}},
            feedback_actions(ref),
        ],
    }
    payload["actions"][0].update(
        action_id="kb_vote_helpful",
        block_id="kb_feedback",
        value=ref.to_value(),
        action_ts=f"{time.time():.6f}",
    )
    return form_body(payload)


def vote_burst(
    actions_url: str, ref: AnswerRef, votes: int, clients: int, seconds: float, slack: SlackStandin
) -> tuple[Outcomes, list[str]]:
    template = json.loads(CLICK_FIXTURE.read_text())
    users = [f"U{n:06d}" for n in range(votes)]
    bodies = [click_body(template, ref, user, slack.response_url()) for user in users]

    def click(client: httpx.Client, n: int) -> httpx.Response:
        body = bodies[n]
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)}
        return client.post(actions_url, content=body, headers=headers)

    return run_clients(clients, votes, seconds, click), users


def wait_for_thanks(slack: SlackStandin, sent: int) -> int:
    """A thank-you is posted after a click's vote was written, also for clicks whose client gave up
    waiting (the app still handles them): wait, boundedly, until every click sent has been handled."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        posted = len(slack.responses.get("default", []))
        if posted >= sent:
            return posted
        time.sleep(0.5)
    return len(slack.responses.get("default", []))


def logged_problems(log_dir: Path) -> dict[str, int]:
    """Warnings and errors the function processes logged (JSON lines), by event."""
    found: dict[str, int] = {}
    for log_file in sorted(log_dir.glob("*.log")):
        for line in log_file.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            level = str(entry.get("severity") or entry.get("level") or "").lower()
            if "no Slack signature" in str(entry.get("reason", "")):
                continue  # the readiness probe's unsigned GET; every click here is signed
            if level in ("warning", "error", "critical"):
                key = f"{level}: {entry.get('message') or entry.get('event')}"
                found[key] = found.get(key, 0) + 1
    return found


def count_votes(store: ChunkStore, ref: AnswerRef, users: list[str]) -> tuple[int, list[int], list[int]]:
    """Clicks whose vote is stored on every cited chunk; votes stored and `feedback_count` per chunk."""
    chunk_ids = [chunk_id for chunk_id, _ in ref.cited]
    stored = VoteStore(store).for_chunks(chunk_ids)
    voters = [{v.user_id for v in stored[chunk_id] if v.answer_id == ref.answer_id} for chunk_id in chunk_ids]
    counted = set(users).intersection(*voters)
    metas = store.get_metadata(ids=chunk_ids)
    return (
        len(counted),
        [len(stored[chunk_id]) for chunk_id in chunk_ids],
        [metas[chunk_id].feedback_count for chunk_id in chunk_ids],
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent search clients")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the search load runs")
    parser.add_argument("--max-requests", type=int, default=100_000, help="search requests at most")
    parser.add_argument("--votes", type=int, default=1000, help="feedback clicks, one per user")
    parser.add_argument("--vote-clients", type=int, default=16, help="concurrent clicking clients")
    parser.add_argument(
        "--vote-seconds", type=float, default=600.0, help="stop sending clicks after this long"
    )
    parser.add_argument(
        "--baseline-rev",
        default=None,
        help="also load a search function served from this git revision first, same data, same run",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the functions of this checkout only (e.g. EMBEDDING_THREADS=1)",
    )
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = parser.parse_args()
    configure_logging(log_format="console", level="WARNING")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the Slack stand-in's request lines
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="kb-bench-load-") as scratch:
        work = Path(scratch)
        home = work / "kb-home"
        server = ChromaServer(work / "chroma").start()
        functions: list[FunctionService] = []
        try:
            console.print("Syncing the sample space into the Chroma server…")
            settings = load_settings(kb_home=home, chroma_url=server.url, chroma_timeout_seconds=60)
            run_sync(settings, source=FolderPageSource(SAMPLE_SPACE_DIR))
            env = {
                "KB_HOME": str(home),
                "CHROMA_URL": server.url,
                "LOG_LEVEL": "WARNING",
                "EMBEDDING_THREADS": "1",  # as deployed (terraform/main.tf, server_env)
            }
            baseline = None
            with contextlib.ExitStack() as checkouts:
                old = None
                if args.baseline_rev:
                    checkout = checkouts.enter_context(
                        baseline_checkout(args.baseline_rev, work / "baseline")
                    )
                    console.print(f"Baseline: the search function of {args.baseline_rev}…")
                    old = FunctionService("search", env, log_dir=work / "baseline-logs", checkout=checkout)
                    functions.append(old.start())
                    warm_up(old.url)
                mine = {**env, **DEPLOYED_ENV["search"], **dict(pair.split("=", 1) for pair in args.env)}
                search = FunctionService("search", mine, log_dir=work / "logs").start()
                functions.append(search)
                console.print("Warming up the search function (loads the embedding model)…")
                warm_up(search.url)
                if old is None:
                    console.print(f"{args.clients} clients searching for {args.seconds:g} s…")
                    searches = load_search(search.url, args.clients, args.seconds, args.max_requests)
                else:
                    console.print(
                        f"{args.clients} clients searching for {args.seconds:g} s each, in halves: "
                        "baseline, this checkout, this checkout, baseline…"
                    )
                    baseline, searches = load_interleaved(old.url, search.url, args)
                    old.stop()
                ref = answer_ref(search.url)
                search.stop()
            with SlackStandin() as slack:
                actions = FunctionService(
                    "slack_actions",
                    {
                        **env,
                        "SLACK_SIGNING_SECRET": SECRET,
                        "SLACK_BOT_TOKEN": "xoxb-bench",
                        "SLACK_API_URL": slack.api_url,
                    },
                    log_dir=work / "logs",
                ).start()
                functions.append(actions)
                console.print(
                    f"{args.votes} clicks on one answer citing {len(ref.cited)} chunks, "
                    f"{args.vote_clients} at a time…"
                )
                clicks, users = vote_burst(
                    actions.url, ref, args.votes, args.vote_clients, args.vote_seconds, slack
                )
                thanks = wait_for_thanks(slack, clicks.sent)
            counted, stored, feedback_counts = count_votes(build_store(settings), ref, users)
        finally:
            for function in functions:
                function.stop()
            server.stop()
        problems = logged_problems(work / "logs")

    served = searches.latencies_ms
    result: dict[str, Any] = {
        "search_rps": round(len(served) / searches.wall_seconds, 1),
        "search_p50_ms": round(p(served, 50), 1),
        "search_p95_ms": round(p(served, 95), 1),
        "search_p99_ms": round(p(served, 99), 1),
        "search_requests": searches.sent,
        "search_errors": searches.error_count(),
        "search_error_kinds": searches.errors,
        "clients": args.clients,
        "seconds": round(searches.wall_seconds, 1),
        "votes_requested": args.votes,
        "votes_sent": clicks.sent,
        "votes_counted": counted,
        "vote_errors": clicks.error_count(),
        "vote_error_kinds": clicks.errors,
        "vote_p50_ms": round(p(clicks.latencies_ms, 50), 1),
        "vote_p95_ms": round(p(clicks.latencies_ms, 95), 1),
        "vote_p99_ms": round(p(clicks.latencies_ms, 99), 1),
        "votes_acked_within_3s": sum(ms <= SLACK_ACK_MS for ms in clicks.latencies_ms),
        "votes_per_second": round(len(clicks.latencies_ms) / clicks.wall_seconds, 1),
        "vote_clients": args.vote_clients,
        "cited_chunks": len(ref.cited),
        "votes_stored_min": min(stored),
        "feedback_count_min": min(feedback_counts),
        "feedback_count_max": max(feedback_counts),
        "thanks_posted": thanks,
        "logged_problems": problems,
    }
    if baseline is not None:
        base = baseline.latencies_ms
        result.update(
            baseline_rev=args.baseline_rev,
            baseline_search_rps=round(len(base) / baseline.wall_seconds, 1),
            baseline_search_p50_ms=round(p(base, 50), 1),
            baseline_search_p95_ms=round(p(base, 95), 1),
            baseline_search_errors=baseline.error_count(),
        )
        result["search_rps_ratio"] = round(result["search_rps"] / max(result["baseline_search_rps"], 0.1), 2)
        result["search_p95_ratio"] = round(result["search_p95_ms"] / result["baseline_search_p95_ms"], 2)
    if args.json:
        print(json.dumps(result))
        return
    table = Table(title="Load on loopback: search function and a burst of feedback clicks")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row(f"search: {args.clients} clients for (s)", f"{result['seconds']}")
    table.add_row("  requests sent", f"{searches.sent:,}")
    table.add_row("  throughput (requests/s answered 200)", f"{result['search_rps']}")
    table.add_row("  p50 (ms)", f"{result['search_p50_ms']}")
    table.add_row("  p95 (ms)", f"{result['search_p95_ms']}")
    table.add_row("  p99 (ms)", f"{result['search_p99_ms']}")
    table.add_row("  errors", _errors(searches))
    if baseline is not None:
        table.add_row(
            f"baseline ({args.baseline_rev}), same clients and data: requests/s",
            f"{result['baseline_search_rps']}",
        )
        table.add_row(
            "  p50 / p95 (ms)", f"{result['baseline_search_p50_ms']} / {result['baseline_search_p95_ms']}"
        )
        table.add_row("  errors", _errors(baseline))
        table.add_row("throughput over baseline", f"{result['search_rps_ratio']}x")
        table.add_row("p95 over baseline", f"{result['search_p95_ratio']}x")
    table.add_row(f"clicks: {args.vote_clients} at a time, sent", f"{clicks.sent:,} of {args.votes:,}")
    table.add_row("  counted (vote stored on every cited chunk)", f"{counted:,}")
    table.add_row(f"  cited chunks' feedback_count (of {len(ref.cited)})", _range(feedback_counts))
    table.add_row("  click → 200 p50 (ms)", f"{result['vote_p50_ms']}")
    table.add_row("  click → 200 p95 (ms)", f"{result['vote_p95_ms']}")
    table.add_row("  click → 200 p99 (ms)", f"{result['vote_p99_ms']}")
    table.add_row("  acknowledged within Slack's 3 s", f"{result['votes_acked_within_3s']:,}")
    table.add_row("  clicks/s", f"{result['votes_per_second']}")
    table.add_row("  errors", _errors(clicks))
    table.add_row("  thank-yous posted to response_url", f"{thanks:,}")
    for problem, count in sorted(problems.items()):
        table.add_row(f"functions logged {problem}", f"{count:,}")
    Console().print(table)


def _errors(outcomes: Outcomes) -> str:
    details = ", ".join(f"{kind}: {count}" for kind, count in sorted(outcomes.errors.items()))
    return f"{outcomes.error_count()}" + (f" ({details})" if details else "")


def _range(values: list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,} to {high:,}"


if __name__ == "__main__":
    main()
