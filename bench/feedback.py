"""How fast feedback reaches ranking, and how long the daily decay sweep takes at scale.

    python bench/feedback.py [--votes 60] [--chunks 100000] [--json]

1. Vote to visible: the sample space is loaded into a real Chroma server; each round takes the top result
   of a question, sends a signed `block_actions` vote for it to the real `slack_actions` app
   (functions-framework, in process, with a Slack stand-in for the after-acknowledgement calls), then runs
   the same search and checks that it shows the new score. `vote_to_visible` is the time from sending the
   vote until its quality write is committed (the app answers after the write, so any search started after
   that sees the new score); `vote_then_search` adds the search that confirmed it.
2. Decay: `--chunks` synthetic chunks (metadata shaped like real ones, review dates spread over two years) on
   the same server; one sweep as of a date where about half are past review, then a second sweep the same day
   (which must write nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common.runtime.quality import build_quality_policy
from common.runtime.store import build_store
from common.store.access import EVERYONE

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np
from functions_framework import create_app
from rich.console import Console
from rich.table import Table

from common.config import SAMPLE_SPACE_DIR, get_settings, load_settings
from common.confluence.folder_source import FolderPageSource
from common.logs import configure_logging
from common.quality.decay import run_decay
from common.runtime.search import build_retriever
from common.search.filters import SearchFilters
from common.slack.feedback_blocks import AnswerRef
from common.store.chunk import Chunk, ChunkMetadata
from tests.support.chroma_server import ChromaServer
from tests.support.runs import run_sync
from tests.support.slack_signing import form_body, sign
from tests.support.slack_standin import SlackStandin

SECRET = "bench-secret"
QUESTIONS = [
    "How do I connect to the VPN from home?",
    "How many weeks of parental leave do I get?",
    "How do I reset my password and MFA?",
    "What is the expense limit for a team dinner?",
    "How do I request a new software licence?",
    "How do I book business travel?",
    "Where do I find the guest Wi-Fi password?",
    "How many days of annual leave do new employees get?",
]
EVERYTHING = SearchFilters(max_classification="confidential")


def p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def vote_payload(ref: AnswerRef, user: str, response_url: str) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user, "team_id": "T111"},
        "api_app_id": "A111",
        "container": {"type": "message", "message_ts": "111.222", "channel_id": "C111"},
        "trigger_id": "111.222.valid",
        "team": {"id": "T111", "domain": "bench"},
        "channel": {"id": "C111", "name": "bench"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": "kb_vote_helpful",
                "block_id": "kb_feedback",
                "value": ref.to_value(),
                "type": "button",
                "action_ts": str(time.time()),
            }
        ],
    }
    return form_body(payload)


def time_votes(server: ChromaServer, work: Path, votes: int) -> tuple[list[float], list[float]]:
    home = work / "sample-home"
    run_sync(load_settings(kb_home=home), source=FolderPageSource(SAMPLE_SPACE_DIR))
    chunks = build_store(load_settings(kb_home=home)).get_chunks(with_embeddings=True)
    with SlackStandin() as slack:
        os.environ.update(
            CHROMA_URL=server.url,
            CHROMA_COLLECTION=f"votes-{uuid.uuid4().hex[:8]}",
            KB_HOME=str(work / "votes-home"),
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_BOT_TOKEN="xoxb-bench",
            SLACK_API_URL=slack.api_url,
            LOG_LEVEL="WARNING",
        )
        get_settings.cache_clear()
        settings = get_settings()
        store = build_store(settings)
        store.upsert([Chunk(c.id, c.text, c.metadata, c.embedding) for c in chunks])
        run_decay(store, build_quality_policy(settings))  # scores as the daily job leaves them
        retriever = build_retriever(settings, store)
        app = create_app(target="slack_actions", source=str(REPO / "functions" / "main.py")).test_client()
        handler = sys.modules["main"]._interactions()
        for question in QUESTIONS:
            retriever.search(
                question, top_k=5, filters=EVERYTHING, reader=EVERYONE
            )  # warm the model and keyword index
        visible, with_search = [], []
        for n in range(votes):
            question = QUESTIONS[n % len(QUESTIONS)]
            top = retriever.search(question, top_k=5, filters=EVERYTHING, reader=EVERYONE)[0]
            ref = AnswerRef(answer_id=f"A{n}", question=question, cited=((top.chunk_id, top.page_id),))
            body = vote_payload(ref, f"U{n}", slack.response_url())
            headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)}
            started = time.perf_counter()
            response = app.post("/", data=body, headers=headers)
            acknowledged = time.perf_counter()
            seen = next(
                r
                for r in retriever.search(question, top_k=5, filters=EVERYTHING, reader=EVERYONE)
                if r.chunk_id == top.chunk_id
            )
            searched = time.perf_counter()
            if response.status_code != 200 or seen.quality_score <= top.quality_score:
                raise SystemExit(f"vote {n} was not visible to the next search ({response.status_code})")
            visible.append((acknowledged - started) * 1000)
            with_search.append((searched - started) * 1000)
            handler.drain()
    return visible, with_search


def synthetic_metadata(count: int, now: datetime, seed: int = 11) -> list[Chunk]:
    rng = np.random.default_rng(seed)
    ages = rng.integers(0, 720, size=count)
    reviewed = rng.random(count) < 0.3
    feedback = np.clip(50 + rng.normal(0, 12, size=count), 0, 100).round(2)
    vectors = rng.standard_normal((count, 8)).astype(np.float32)
    chunks = []
    for i in range(count):
        updated = now - timedelta(days=int(ages[i]))
        meta = ChunkMetadata(
            page_id=f"p{i // 10}",
            page_title=f"Page {i // 10}",
            chunk_type="text",
            chunk_index=i % 10,
            space_key=("HB", "ENG", "SEC", "HR")[i % 4],
            url=f"https://larkspur.example/wiki/pages/{i // 10}",
            author="priya.raman@larkspur.example",
            owner="priya.raman@larkspur.example",
            created_at=updated - timedelta(days=30),
            updated_at=updated,
            reviewed_at=updated + timedelta(days=5) if reviewed[i] else None,
            reviewed_by="priya.raman@larkspur.example" if reviewed[i] else None,
            feedback_score=float(feedback[i]),
            quality_score=float(feedback[i]),
            content_hash=f"hash-{i:08d}",
            ingested_at=now.timestamp(),
        )
        chunks.append(Chunk(f"c{i}", f"Synthetic chunk {i}.", meta, tuple(float(v) for v in vectors[i])))
    return chunks


def time_decay(server: ChromaServer, count: int, console: Console) -> tuple[float, float, int]:
    now = datetime.now(UTC)
    store = build_store(
        load_settings(
            chroma_url=server.url,
            chroma_collection=f"decay-{uuid.uuid4().hex[:8]}",
            chroma_timeout_seconds=300,
        )
    )
    console.print(f"Loading {count:,} synthetic chunks for the decay sweep…")
    chunks = synthetic_metadata(count, now)
    for start in range(0, count, 5000):
        store.upsert(chunks[start : start + 5000])
    policy = build_quality_policy(load_settings())
    started = time.perf_counter()
    first = run_decay(store, policy, now=now)
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    second = run_decay(store, policy, now=now + timedelta(hours=1))
    second_seconds = time.perf_counter() - started
    if second.chunks_updated:
        raise SystemExit(f"the second sweep on one day wrote {second.chunks_updated} chunks")
    return first_seconds, second_seconds, first.chunks_updated


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--votes", type=int, default=60)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = parser.parse_args()
    configure_logging(log_format="console", level="WARNING")
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="kb-bench-feedback-") as scratch:
        work = Path(scratch)
        server = ChromaServer(work / "chroma").start()
        try:
            console.print(f"Timing {args.votes} votes through slack_actions…")
            visible, with_search = time_votes(server, work, args.votes)
            decay_seconds, rerun_seconds, decayed = time_decay(server, args.chunks, console)
        finally:
            server.stop()
    result = {
        "vote_to_visible_p50_ms": round(statistics.median(visible), 1),
        "vote_to_visible_p95_ms": round(p(visible, 95), 1),
        "vote_then_search_p95_ms": round(p(with_search, 95), 1),
        "decay_100k_seconds": round(decay_seconds, 1),
        "decay_rerun_seconds": round(rerun_seconds, 1),
        "decay_chunks": args.chunks,
        "decay_chunks_updated": decayed,
    }
    if args.json:
        print(json.dumps(result))
        return
    table = Table(title="Feedback to ranking, and the decay sweep")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("vote → visible p50 (ms)", f"{result['vote_to_visible_p50_ms']}")
    table.add_row("vote → visible p95 (ms)  \\[target < 100]", f"{result['vote_to_visible_p95_ms']}")
    table.add_row("vote + confirming search p95 (ms)", f"{result['vote_then_search_p95_ms']}")
    table.add_row(f"decay sweep, {args.chunks:,} chunks (s)  \\[target < 120]", f"{decay_seconds:.1f}")
    table.add_row("  chunks whose score changed", f"{decayed:,}")
    table.add_row("decay re-run the same day (s), writes 0", f"{rerun_seconds:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
