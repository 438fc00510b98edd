"""Analytics throughput: events from the subscription into the month's file in GCS, file size, report time.

    python bench/analytics.py [--events 100000] [--million 1000000] [--json]

1. `--events` mixed events (questions, answers, accesses, feedback) are published to the Pub/Sub emulator;
   the ingest (the same code as the Cloud Run job) moves them into the month's DuckDB file in fake-gcs-server
   (download, insert, generation-checked upload, then ack). Reported as events/s from subscription to file.
2. `--million` events appended straight to a local file in batches of 10,000: its size per million events,
   then the time to render `kb report` over it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rich.console import Console
from rich.table import Table

from common.analytics.report import render_report
from common.analytics.store import append_records, open_store
from common.config import load_settings
from common.events.model import BotResponse, ChunkAccessed, QueryRecord, UserFeedback
from common.infra.pubsub import PubSubPublisher
from common.logs import configure_logging
from tests.support.gcs_server import GcsServer
from tests.support.pubsub_emulator import PubSubEmulator
from tests.support.runs import run_analytics_ingest

PROJECT = "kb-bench"
QUESTIONS = ["How do I connect to the VPN?", "Parental leave?", "Expense limit for dinner?", "Reset MFA?"]


def records(count: int, seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    out: list[dict[str, Any]] = []
    while len(out) < count:
        at = start + timedelta(seconds=rng.randrange(20 * 86400))
        question, answer = uuid.uuid4().hex, uuid.uuid4().hex
        grounded = rng.random() < 0.8
        out.append(
            QueryRecord(
                occurred_at=at,
                question_id=question,
                user_id=f"U{rng.randrange(500)}",
                channel_type="channel",
                query=rng.choice(QUESTIONS),
                results=5,
                top_score=rng.random(),
                latency_ms=rng.uniform(50, 400),
                source="slack",
            ).to_record()
        )
        out.append(
            BotResponse(
                occurred_at=at,
                answer_id=answer,
                question_id=question,
                writer="offline",
                grounded=grounded,
                cited_chunk_ids=[f"c{rng.randrange(5000)}"],
                latency_ms=rng.uniform(200, 900),
            ).to_record()
        )
        out += [
            ChunkAccessed(
                occurred_at=at,
                chunk_id=f"c{rng.randrange(5000)}",
                page_id=f"p{rng.randrange(500)}",
                query_id=answer,
                rank=rank,
                source="slack",
            ).to_record()
            for rank in range(1, 4)
        ]
        if rng.random() < 0.3:
            out.append(
                UserFeedback(
                    occurred_at=at,
                    vote_id=uuid.uuid4().hex,
                    chunk_id=f"c{rng.randrange(5000)}",
                    page_id="p1",
                    answer_id=answer,
                    user_id=f"U{rng.randrange(500)}",
                    vote=rng.choice(["helpful", "helpful", "not_helpful", "outdated", "incorrect"]),
                    comment="",
                    question=rng.choice(QUESTIONS),
                    quality_before=None,
                    quality_after=None,
                ).to_record()
            )
    return out[:count]


def time_ingest(work: Path, count: int, console: Console) -> float:
    emulator = PubSubEmulator(work / "pubsub").start()
    gcs = GcsServer(work / "gcs").start()
    try:
        topic = f"kb-analytics-{uuid.uuid4().hex[:6]}"
        emulator.create_topic(PROJECT, topic)
        emulator.create_topic(PROJECT, f"{topic}-dead")
        emulator.create_pull_subscription(PROJECT, topic, f"{topic}-ingest")
        bucket = gcs.create_bucket(f"kb-bench-{uuid.uuid4().hex[:6]}")
        settings = load_settings(
            kb_home=work / "kb-home",
            gcp_project=PROJECT,
            pubsub_endpoint=emulator.host,
            gcs_bucket=bucket,
            gcs_endpoint=gcs.url,
            analytics_topic=topic,
            analytics_subscription=f"{topic}-ingest",
            analytics_dead_letter_topic=f"{topic}-dead",
        )
        publisher = PubSubPublisher(PROJECT, topic, endpoint=emulator.host, timeout=60)
        console.print(f"Publishing {count:,} events to the emulator…")
        batch = records(count)
        for start in range(0, count, 5000):
            failed = publisher.publish_many(
                [(json.dumps(r).encode(), {"kind": r["kind"]}) for r in batch[start : start + 5000]]
            )
            if failed:
                raise SystemExit(f"{len(failed)} events were not published")
        console.print("Ingesting…")
        started = time.perf_counter()
        summary = run_analytics_ingest(settings)
        seconds = time.perf_counter() - started
        if summary.inserted != count:
            raise SystemExit(f"ingested {summary.inserted} of {count} events")
        return count / seconds
    finally:
        emulator.stop()
        gcs.stop()


def size_and_report(work: Path, count: int, console: Console) -> tuple[float, float]:
    path = work / "events-million.duckdb"
    console.print(f"Appending {count:,} events to one file…")
    store = open_store(path)
    try:
        for start in range(0, count, 10_000):
            append_records(store, records(min(10_000, count - start), seed=start))
    finally:
        store.close()
    size = path.stat().st_size
    started = time.perf_counter()
    render_report([path], now=datetime.now(UTC))
    return size * 1_000_000 / count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--million", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configure_logging(log_format="console", level="WARNING")
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="kb-bench-analytics-") as scratch:
        work = Path(scratch)
        rate = time_ingest(work, args.events, console)
        per_million, report_seconds = size_and_report(work, args.million, console)
    result = {
        "events_per_s": round(rate, 1),
        "bytes_per_million_events": int(per_million),
        "report_seconds_1m": round(report_seconds, 2),
    }
    if args.json:
        print(json.dumps(result))
        return
    table = Table(title="Analytics: ingest throughput, storage, report")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row(f"ingest, subscription → file in GCS ({args.events:,} events), events/s", f"{rate:,.0f}")
    table.add_row("DuckDB file size per million events (MB)", f"{per_million / 1e6:,.1f}")
    table.add_row(f"kb report over {args.million:,} events (s)", f"{report_seconds:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
