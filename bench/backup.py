"""Backup and restore at scale: `--chunks` synthetic chunks (384-dim vectors, realistic metadata) on a real
Chroma server, backed up to a folder and restored into a new collection: once with one write at a time (the
baseline, as restores ran before), once with `--workers` writes in flight, in the same run.

    python bench/backup.py [--chunks 100000] [--workers 4] [--json]

With --json: backup_seconds, restore_seconds (parallel), restore_seconds_baseline (one worker),
restore_speedup (baseline over parallel), restore_server_cores (the Chroma server's CPU seconds per second
during the parallel restore: about 1.0 means its single writer is the limit), bytes, chunks, workers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np
from rich.console import Console
from rich.table import Table

from common.config import Settings, load_settings
from common.logs import configure_logging
from common.ops.backup import RESTORE_WORKERS, backup, restore
from common.ops.backup_files import FolderBackup
from common.runtime.store import build_store
from common.store.chunk import Chunk, ChunkMetadata
from tests.support.chroma_server import ChromaServer

MODEL = "bench-model"


def synthetic(count: int, seed: int = 5) -> list[Chunk]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    now = datetime.now(UTC)
    chunks = []
    for i in range(count):
        meta = ChunkMetadata(
            page_id=f"p{i // 10}",
            page_title=f"Page {i // 10}",
            chunk_type="text",
            chunk_index=i % 10,
            space_key=("HB", "ENG", "SEC", "HR")[i % 4],
            url=f"https://larkspur.example/wiki/pages/{i // 10}",
            author="priya.raman@larkspur.example",
            owner="priya.raman@larkspur.example",
            created_at=now - timedelta(days=400),
            updated_at=now - timedelta(days=i % 700),
            quality_score=float(rng.uniform(20, 90)),
            feedback_count=int(rng.integers(0, 20)),
            access_count=int(rng.integers(0, 500)),
            topics=("vpn", "remote-work"),
            parent_headers=("Setup", "Linux"),
            content_hash=f"hash-{i:08d}",
            ingested_at=now.timestamp(),
        )
        text = f"Chunk {i}: " + "Connect to the VPN with GlobalProtect and approve the push. " * 6
        chunks.append(Chunk(f"c{i}", text, meta, tuple(float(v) for v in vectors[i])))
    return chunks


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used (Linux /proc), to tell a busy server from a waiting one."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed_restore(
    settings: Settings, target: FolderBackup, expected: int, *, workers: int, server_pid: int
) -> tuple[float, float]:
    """Seconds the restore took, and the server's CPU seconds per second meanwhile."""
    restored = build_store(settings, collection_name=f"dst-{uuid.uuid4().hex[:6]}")
    cpu_before, started = cpu_seconds(server_pid), time.perf_counter()
    restore(target, restored, model_id=MODEL, workers=workers)
    seconds = time.perf_counter() - started
    if restored.count() != expected:
        raise SystemExit(f"restored {restored.count()} of {expected} chunks")
    return seconds, (cpu_seconds(server_pid) - cpu_before) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=RESTORE_WORKERS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configure_logging(log_format="console", level="WARNING")
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="kb-bench-backup-") as scratch:
        work = Path(scratch)
        server = ChromaServer(work / "chroma").start()
        try:
            settings = load_settings(chroma_url=server.url, chroma_timeout_seconds=300)
            source = build_store(settings, collection_name=f"src-{uuid.uuid4().hex[:6]}")
            console.print(f"Loading {args.chunks:,} chunks…")
            chunks = synthetic(args.chunks)
            for start in range(0, len(chunks), 5000):
                source.upsert(chunks[start : start + 5000])
            target = FolderBackup(work / "backups")
            started = time.perf_counter()
            manifest = backup(source, target, model_id=MODEL)
            backup_seconds = time.perf_counter() - started
            size = sum(f.stat().st_size for f in (work / "backups").rglob("*") if f.is_file())
            restore_seconds_baseline, _ = _timed_restore(
                settings, target, manifest.chunk_count, workers=1, server_pid=server.pid
            )
            restore_seconds, server_cores = _timed_restore(
                settings, target, manifest.chunk_count, workers=args.workers, server_pid=server.pid
            )
        finally:
            server.stop()
    result = {
        "backup_seconds": round(backup_seconds, 1),
        "restore_seconds": round(restore_seconds, 1),
        "restore_seconds_baseline": round(restore_seconds_baseline, 1),
        "restore_speedup": round(restore_seconds_baseline / restore_seconds, 2),
        "restore_server_cores": round(server_cores, 2),
        "bytes": size,
        "chunks": args.chunks,
        "workers": args.workers,
    }
    if args.json:
        print(json.dumps(result))
        return
    table = Table(title=f"Backup and restore of {args.chunks:,} chunks (real Chroma server, local folder)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("backup (s)", f"{backup_seconds:.1f}")
    table.add_row("restore, one write at a time (s, baseline)", f"{restore_seconds_baseline:.1f}")
    table.add_row(f"restore, {args.workers} writes in flight (s)", f"{restore_seconds:.1f}")
    table.add_row("restore speed-up", f"{restore_seconds_baseline / restore_seconds:.2f}x")
    table.add_row("Chroma server's CPU during the parallel restore (cores)", f"{server_cores:.2f}")
    table.add_row("size (MB)", f"{size / 1e6:,.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
