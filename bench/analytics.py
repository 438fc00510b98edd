"""Analytics: a month of ingest batches, what a batch costs at its start and end, storage, report time.

    python bench/analytics.py [--events 200000] [--batches 100] [--million 1000000] [--json]

1. A month: `--events` mixed events (questions, answers, accesses, feedback) are published to the Pub/Sub
   emulator, packed into messages as the product's publisher packs them, and ingested (the Cloud Run job's
   code) in `--batches` batches, each a new part file in fake-gcs-server, then acknowledged.
   `events_per_s` is from subscription to files; `batch_seconds_first`
   and `batch_seconds_last` are the medians of the month's first and last five batches (one batch alone
   is at the mercy of a shared machine), `batch_seconds_ratio` last over first. Then the month's parts are
   compacted as the job does (`compaction_seconds`).
2. The baseline, today's approach before part files, in the same run: the same batches appended to one
   monthly file in the same bucket, each downloaded, appended to and uploaded generation-checked
   (`baseline_append_seconds_first`, `_last`, `_ratio`, the same medians). It times the file work only (the
   pull and ack around it cost the same in both), and on this schema, so it is if anything kind to the
   baseline.
3. `--million` events stored as parts of 10,000 in a local folder: bytes per million events as parts
   (`bytes_per_million_events_parts`) and once compacted into one file (`bytes_per_million_events`), and
   the time to render `kb report` over each (`report_seconds_1m_parts`, `report_seconds_1m`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rich.console import Console
from rich.table import Table

from common.analytics.compaction import compact_fully, compact_periods
from common.analytics.ingest import ingest, store_part
from common.analytics.period_files import PeriodFiles
from common.analytics.report import render_report
from common.analytics.store import append_records, file_name, open_store, period_of
from common.config import Settings, load_settings
from common.events.model import BotResponse, ChunkAccessed, QueryRecord, UserFeedback
from common.events.pubsub_publisher import event_messages
from common.infra.pubsub import PubSubPublisher
from common.infra.versioned_files import BucketFiles
from common.infra.write_once_files import FolderWriteOnceFiles
from common.logs import configure_logging
from common.runtime.events import build_event_source, build_period_files
from common.runtime.infra import build_blob_store
from tests.support.gcs_server import GcsServer
from tests.support.pubsub_emulator import PubSubEmulator

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


EDGE_BATCHES = 5
"""First and last batches are each the median of this many."""


def edges(seconds: Sequence[float]) -> tuple[float, float]:
    return statistics.median(seconds[:EDGE_BATCHES]), statistics.median(seconds[-EDGE_BATCHES:])


def month_of_batches(work: Path, count: int, batches: int, console: Console) -> dict[str, float]:
    emulator = PubSubEmulator(work / "pubsub").start()
    gcs = GcsServer(work / "gcs").start()
    try:
        settings = _settings(work, emulator, gcs)
        publisher = PubSubPublisher(PROJECT, settings.analytics_topic, endpoint=emulator.host, timeout=60)
        console.print(f"Publishing {count:,} events to the emulator…")
        month = records(count)
        messages = event_messages(month)
        for start in range(0, len(messages), 100):
            failed = publisher.publish_many([(m.data, m.attributes) for m in messages[start : start + 100]])
            if failed:
                raise SystemExit(f"{len(failed)} messages of events were not published")
        batch_size = -(-count // batches)
        console.print(f"Ingesting them in {batches} batches of {batch_size:,} events, a part file each…")
        files = build_period_files(settings)
        ends = [time.perf_counter()]
        summary = ingest(
            build_event_source(settings),
            files,
            batch_size=batch_size,
            progress=lambda _: ends.append(time.perf_counter()),
        )
        seconds = ends[-1] - ends[0]
        if summary.inserted != count:
            raise SystemExit(f"ingested {summary.inserted} of {count} events")
        batch_seconds = [end - start for start, end in itertools.pairwise(ends)]
        console.print("Compacting the month as the job does…")
        started = time.perf_counter()
        compact_periods(files, summary.periods, fan_in=settings.analytics_parts_per_compaction)
        compaction_seconds = time.perf_counter() - started
        console.print("Baseline: the same batches appended to one monthly file…")
        baseline = append_to_one_file(settings, month, batch_size)
    finally:
        emulator.stop()
        gcs.stop()
    first, last = edges(batch_seconds)
    base_first, base_last = edges(baseline)
    return {
        "events_per_s": round(count / seconds, 1),
        "batches": len(batch_seconds),
        "batch_seconds_first": round(first, 4),
        "batch_seconds_last": round(last, 4),
        "batch_seconds_ratio": round(last / first, 2),
        "compaction_seconds": round(compaction_seconds, 2),
        "baseline_append_seconds_first": round(base_first, 4),
        "baseline_append_seconds_last": round(base_last, 4),
        "baseline_append_seconds_ratio": round(base_last / base_first, 2),
    }


def _settings(work: Path, emulator: PubSubEmulator, gcs: GcsServer) -> Settings:
    topic = f"kb-analytics-{uuid.uuid4().hex[:6]}"
    emulator.create_topic(PROJECT, topic)
    emulator.create_topic(PROJECT, f"{topic}-dead")
    emulator.create_pull_subscription(PROJECT, topic, f"{topic}-ingest")
    return load_settings(
        kb_home=work / "kb-home",
        gcp_project=PROJECT,
        pubsub_endpoint=emulator.host,
        gcs_bucket=gcs.create_bucket(f"kb-bench-{uuid.uuid4().hex[:6]}"),
        gcs_endpoint=gcs.url,
        analytics_topic=topic,
        analytics_subscription=f"{topic}-ingest",
        analytics_dead_letter_topic=f"{topic}-dead",
    )


def append_to_one_file(settings: Settings, month: list[dict[str, Any]], batch_size: int) -> list[float]:
    """Today's approach before part files: every batch edits the month's one file (download, append,
    generation-checked upload)."""
    files = BucketFiles(build_blob_store(settings), prefix="baseline/")
    name = file_name(period_of(month[0]))
    seconds = []
    for start in range(0, len(month), batch_size):
        started = time.perf_counter()
        with files.edit(name) as path:
            store = open_store(path)
            try:
                append_records(store, month[start : start + batch_size])
            finally:
                store.close()
        seconds.append(time.perf_counter() - started)
    return seconds


def size_and_report(work: Path, count: int, console: Console) -> dict[str, float]:
    files = PeriodFiles(FolderWriteOnceFiles(work / "million"))
    console.print(f"Storing {count:,} events as parts of 10,000…")
    for start in range(0, count, 10_000):
        batch = records(min(10_000, count - start), seed=start)
        store_part(files, period_of(batch[0]), batch)
    parts_bytes = _bytes(work / "million")
    parts_report = _report_seconds(files, work / "read-parts")
    console.print("Compacting them into one file…")
    compact_fully(files, files.periods())
    return {
        "bytes_per_million_events_parts": int(parts_bytes * 1_000_000 / count),
        "bytes_per_million_events": int(_bytes(work / "million") * 1_000_000 / count),
        "report_seconds_1m_parts": round(parts_report, 2),
        "report_seconds_1m": round(_report_seconds(files, work / "read-compacted"), 2),
    }


def _bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.iterdir() if path.suffix == ".duckdb")


def _report_seconds(files: PeriodFiles, scratch: Path) -> float:
    started = time.perf_counter()
    render_report(files.local_copies(scratch), now=datetime.now(UTC))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000, help="Events in the month of batches.")
    parser.add_argument("--batches", type=int, default=100, help="Ingest batches they arrive in.")
    parser.add_argument("--million", type=int, default=1_000_000, help="Events for storage and report.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.batches < 2 * EDGE_BATCHES:
        parser.error(f"--batches must be at least {2 * EDGE_BATCHES}")
    configure_logging(log_format="console", level="WARNING")
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="kb-bench-analytics-") as scratch:
        work = Path(scratch)
        result: dict[str, float] = {
            **month_of_batches(work, args.events, args.batches, console),
            **size_and_report(work, args.million, console),
        }
    if args.json:
        print(json.dumps(result))
        return
    table = Table(title="Analytics: a month of batches, storage, report")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row(
        f"ingest, subscription → part files in GCS ({args.events:,} events), events/s",
        f"{result['events_per_s']:,.0f}",
    )
    table.add_row(
        f"one batch, first / last of {result['batches']} (s)",
        f"{result['batch_seconds_first']:.3f} / {result['batch_seconds_last']:.3f}",
    )
    table.add_row("  last over first", f"{result['batch_seconds_ratio']:.2f}")
    table.add_row(
        "baseline: appending a batch to one monthly file, first / last (s)",
        f"{result['baseline_append_seconds_first']:.3f} / {result['baseline_append_seconds_last']:.3f}",
    )
    table.add_row("  last over first", f"{result['baseline_append_seconds_ratio']:.2f}")
    table.add_row("compacting the month's parts as the job does (s)", f"{result['compaction_seconds']:.2f}")
    table.add_row(
        "storage per million events, parts / compacted (MB)",
        f"{result['bytes_per_million_events_parts'] / 1e6:,.1f}"
        f" / {result['bytes_per_million_events'] / 1e6:,.1f}",
    )
    table.add_row(
        f"kb report over {args.million:,} events, parts / compacted (s)",
        f"{result['report_seconds_1m_parts']:.2f} / {result['report_seconds_1m']:.2f}",
    )
    Console().print(table)


if __name__ == "__main__":
    main()
