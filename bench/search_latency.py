"""Search latency at scale: the search function over HTTP against a real Chroma server, and the retriever a
user would otherwise pick (LangChain's EnsembleRetriever: BM25Retriever + Chroma) on the same data.

    python bench/search_latency.py [--chunks 100000] [--queries 40] [--json]
    python bench/search_latency.py --chunks 10000,100000,300000 [--json]     # how cost grows

With one size, LangChain's retriever runs beside ours for comparison. With several, each size gets a fresh
Chroma server and search function and the table shows what grows: p50/p95, the time to load the chunks,
the keyword index's build time and size, the resident memory of Chroma and of one search instance (which
holds the whole keyword index), and Chroma's disk (`docs/scale.md` takes these to 10 million chunks).

Modes: `none` (no filter), `space` and `classification` (filters), and `as_user`: 30 % of the pages are
restricted (to group `engineering` or group `hr`, half each) and the search runs as an engineer of the
sample space (`as_user` with SEARCH_AS_USER_API_KEY), so the retriever drops what they may not read; its p95
is compared with the unfiltered p95 of the same run (`p95_ratio_as_user_vs_none`). Each mode asks the 20
questions in turn; the unfiltered mode runs first, so its first pass is also reported apart
(`p95_ms_none_first_asked`: no candidate yet kept by the instance, `common.search.chunk_cache`) from its
repeats (`p95_ms_none_asked_again`).

Chunks are synthetic but shaped like real ones: their text mixes sentences of two real sample-space chunks
and their vector is a normalised blend of those chunks' real embeddings (embedding 100k texts would take an
hour on 2 cores), spread over 8 spaces and three classification levels, 10 chunks a page. Queries are
embedded by the search function itself, as in production. Needs the bench extra:
`pip install -e '.[bench]'`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common.runtime.store import build_store

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx
import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from common.config import SAMPLE_SPACE_DIR, load_settings
from common.confluence.folder_source import FolderPageSource
from common.logs import configure_logging
from common.runtime.ai import build_embedder
from common.runtime.search import build_keyword_cache
from common.store.access import ReadRule
from common.store.chunk import Chunk
from common.store.chunk_store import ChunkStore
from tests.support.chroma_server import ChromaServer, free_port
from tests.support.runs import run_sync

SPACES = ("HB", "ENG", "SEC", "HR", "IT", "FIN", "OPS", "LEGAL")
LEVELS = ("public", "internal", "internal", "internal", "confidential")
RESTRICTED_TENTHS = 3
RESTRICTED_TO = (ReadRule(groups=("engineering",)), ReadRule(groups=("hr",)))
AS_USER = "tom.okafor@larkspur.example"
"""In the sample space's group `engineering` (space.json), not in `hr`."""
AS_USER_KEY = "bench-as-user-key"
QUERIES = [
    "How do I connect to the VPN from home?",
    "How many weeks of parental leave do I get?",
    "How do I reset my password and MFA?",
    "What is the expense limit for a team dinner?",
    "How do I request a new software licence?",
    "What are the steps to deploy a service to production?",
    "Who do I call when I am on call and the pager fires?",
    "How do I report a phishing email?",
    "What data counts as confidential?",
    "How many days of annual leave do new employees get?",
    "How do I set up my local development environment?",
    "What should a code review check?",
    "How do I book business travel?",
    "Where do I find the guest Wi-Fi password?",
    "How do database migrations get reviewed?",
    "How are feature flags cleaned up?",
    "What is the logging standard for services?",
    "How do I rotate a leaked secret?",
    "How often are access reviews done?",
    "What happens on my last day when I leave the company?",
]
WARM_UP_QUESTIONS = ("Is the search function up?", "Where is the office?")
"""Not among QUERIES, so the first pass over QUERIES finds none of their candidates kept by the instance."""


def synthetic_chunks(count: int, *, batch: int = 2000, seed: int = 7) -> Iterator[list[Chunk]]:
    """`count` chunks in lists of `batch`, made as they are needed: 300,000 chunks held at once would take
    several GB as Python floats."""
    settings = load_settings(kb_home=Path(tempfile.mkdtemp(prefix="kb-pool-")))
    run_sync(settings, source=FolderPageSource(SAMPLE_SPACE_DIR))
    pool = build_store(settings).get_chunks(where={"space_key": "HB"}, with_embeddings=True)
    rng = np.random.default_rng(seed)
    vectors = np.asarray([c.embedding for c in pool], dtype=np.float32)
    now = datetime.now(UTC)
    for start in range(0, count, batch):
        size = min(batch, count - start)
        first, second = rng.integers(len(pool), size=size), rng.integers(len(pool), size=size)
        mixed = 0.75 * vectors[first] + 0.25 * vectors[second]
        mixed += 0.02 * rng.standard_normal(mixed.shape, dtype=np.float32)
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        ages = rng.integers(720, size=size)
        chunks = []
        for offset in range(size):
            index = start + offset
            a, b, page = int(first[offset]), int(second[offset]), index // 10
            template = pool[a].metadata
            meta = template.model_copy(
                update={
                    "page_id": f"p{page}",
                    "page_title": f"{template.page_title} {page}",
                    "chunk_index": index % 10,
                    "space_key": SPACES[page % len(SPACES)],
                    "classification": LEVELS[page % len(LEVELS)],
                    "updated_at": now - timedelta(days=int(ages[offset])),
                    "content_hash": f"synthetic-{index:08d}",
                }
            )
            if page % 10 < RESTRICTED_TENTHS:
                meta = meta.model_copy(update={"read_rules": (RESTRICTED_TO[page % 2],), "restricted": True})
            text = f"{pool[a].text}\n{pool[b].text.split('.')[0]}."
            chunks.append(Chunk(f"c{index:07d}", text, meta, tuple(float(v) for v in mixed[offset])))
        yield chunks


def tree_rss_mb(pid: int) -> float:
    """Resident memory of `pid` and every process below it (Linux /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, grew = {pid}, True
    while grew:
        below = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= below
        grew = bool(below)
    kilobytes = 0
    for member in tree:
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        kilobytes += next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0
        )
    return kilobytes / 1024


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def start_search_function(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "functions_framework", "--source", str(REPO / "functions" / "main.py")]
    process = subprocess.Popen(
        [*command, "--target", "search", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the search function did not start within 120 s")


def time_http(
    port: int,
    filters: dict[str, object],
    rounds: int,
    *,
    as_user: str | None = None,
    questions: tuple[str, ...] = (),
) -> list[float]:
    timings = []
    extra = {"as_user": as_user} if as_user else {}
    headers = {"Authorization": f"Bearer {AS_USER_KEY}"} if as_user else {}
    asked = questions or QUERIES
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, headers=headers) as client:
        for round_ in range(rounds):
            query = asked[round_ % len(asked)]
            started = time.perf_counter()
            response = client.post("/", json={"query": query, "top_k": 10, "filters": filters, **extra})
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return timings


def time_langchain(texts: list[str], chroma_url: str, collection: str, rounds: int) -> list[float]:
    import chromadb
    from langchain_chroma import Chroma
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.retrievers import BM25Retriever
    from langchain_core.embeddings import Embeddings

    embedder = build_embedder(load_settings())

    class LocalEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [list(map(float, v)) for v in embedder.embed(texts)]

        def embed_query(self, text: str) -> list[float]:
            return [float(v) for v in embedder.embed([text])[0]]

    host, port = chroma_url.removeprefix("http://").split(":")
    client = chromadb.HttpClient(host=host, port=int(port))
    dense = Chroma(client=client, collection_name=collection, embedding_function=LocalEmbeddings())
    keyword = BM25Retriever.from_texts(texts, k=10)
    ensemble = EnsembleRetriever(
        retrievers=[keyword, dense.as_retriever(search_kwargs={"k": 10})], weights=[0.5, 0.5]
    )
    timings = []
    for round_ in range(rounds):
        started = time.perf_counter()
        ensemble.invoke(QUERIES[round_ % len(QUERIES)])
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def time_chroma_filters(store: ChunkStore, rounds: int) -> dict[str, list[float]]:
    """The Chroma query alone, unfiltered (what the retriever does, filtering in process) and with a `where`
    (the retriever's fallback), to show why filters are applied in process."""
    embedder = build_embedder(load_settings())
    vectors = [[float(v) for v in embedder.embed([query])[0]] for query in QUERIES]
    wheres: dict[str, dict[str, object] | None] = {
        "unfiltered": None,
        "where_space": {"space_key": {"$in": ["ENG"]}},
        "where_classification": {"classification": {"$in": ["public"]}},
    }
    timings: dict[str, list[float]] = {}
    for name, where in wheres.items():
        timings[name] = []
        for round_ in range(rounds):
            started = time.perf_counter()
            store.query(vectors[round_ % len(vectors)], n_results=100, where=where)
            timings[name].append((time.perf_counter() - started) * 1000)
    return timings


def p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


MODES: dict[str, tuple[dict[str, object], str | None]] = {
    "none": ({"max_classification": "confidential"}, None),
    "space": ({"spaces": ["ENG"], "max_classification": "confidential"}, None),
    "classification": ({"max_classification": "public"}, None),
    "as_user": ({"max_classification": "confidential"}, AS_USER),
}


def measure(count: int, queries: int, work: Path, console: Console, *, baseline: bool) -> dict[str, Any]:
    """One size on a fresh Chroma server and search function."""
    server = ChromaServer(work / "chroma").start()
    function: subprocess.Popen[bytes] | None = None
    try:
        settings = load_settings(
            kb_home=work / "home",
            chroma_url=server.url,
            chroma_collection="latency",
            chroma_timeout_seconds=300,
        )
        store = build_store(settings)
        texts: list[str] = []
        loading = 0.0
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"Loading {count:,} chunks into Chroma", total=count)
            for batch in synthetic_chunks(count):
                started = time.perf_counter()
                store.upsert(batch)
                loading += time.perf_counter() - started
                texts += [chunk.text for chunk in batch] if baseline else []
                progress.advance(task, len(batch))
        console.print(f"Building the keyword index over {count:,} chunks…")
        started = time.perf_counter()
        build_keyword_cache(settings, store).rebuild()
        keyword_build = time.perf_counter() - started
        port = free_port()
        env = {
            "KB_HOME": str(work / "home"),
            "CHROMA_URL": server.url,
            "CHROMA_COLLECTION": "latency",
            "LOG_LEVEL": "WARNING",
            "KEYWORD_REFRESH_SECONDS": "3600",
            "SEARCH_AS_USER_API_KEY": AS_USER_KEY,
        }
        function = start_search_function(port, env)
        for filters, as_user in MODES.values():
            time_http(port, filters, 3, as_user=as_user, questions=WARM_UP_QUESTIONS)
        timings = {mode: time_http(port, f, queries, as_user=who) for mode, (f, who) in MODES.items()}
        first_asked, asked_again = timings["none"][: len(QUERIES)], timings["none"][len(QUERIES) :]
        chroma = time_chroma_filters(store, queries)
        result: dict[str, Any] = {
            "chunks": count,
            "p50_ms": {mode: round(p(t, 50), 1) for mode, t in timings.items()},
            "p95_ms": {mode: round(p(t, 95), 1) for mode, t in timings.items()},
            "p95_ms_none_first_asked": round(p(first_asked, 95), 1),
            "p95_ms_none_asked_again": round(p(asked_again, 95), 1) if asked_again else None,
            "chroma_query_p95_ms": {name: round(p(t, 95), 1) for name, t in chroma.items()},
            "load_seconds": round(loading, 1),
            "keyword_build_seconds": round(keyword_build, 2),
            "keyword_index_mb": round(folder_mb(work / "home" / "keyword-index"), 1),
            "chroma_rss_mb": round(tree_rss_mb(server.pid), 1),
            "chroma_disk_mb": round(folder_mb(work / "chroma"), 1),
            "search_instance_rss_mb": round(tree_rss_mb(function.pid), 1),
        }
        if baseline:
            lang = time_langchain(texts, server.url, "latency", max(5, queries // 2))
            result["langchain_p50_ms"] = round(p(lang, 50), 1)
            result["langchain_p95_ms"] = round(p(lang, 95), 1)
            result["p95_ratio_vs_langchain"] = round(p(timings["none"], 95) / p(lang, 95), 3)
        result["p95_ratio_as_user_vs_none"] = round(p(timings["as_user"], 95) / p(timings["none"], 95), 3)
        result["median_ratio_as_user_vs_none"] = round(p(timings["as_user"], 50) / p(timings["none"], 50), 3)
        return result
    finally:
        if function is not None:
            function.kill()
            function.wait()
        server.stop()


def main() -> None:
    configure_logging(log_format="console", level="WARNING")
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", default="100000", help="a size, or sizes separated by commas")
    parser.add_argument("--queries", type=int, default=40, help="timed requests per mode")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = [int(size.replace("_", "")) for size in args.chunks.split(",")]
    console = Console(stderr=True)
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="kb-latency-") as scratch:
            results.append(measure(size, args.queries, Path(scratch), console, baseline=len(sizes) == 1))
    if args.json:
        print(json.dumps(results[0] if len(sizes) == 1 else {"sizes": results}))
        return
    if len(sizes) == 1:
        print_one(results[0])
    else:
        print_growth(results)


def print_one(result: dict[str, Any]) -> None:
    table = Table(title=f"Search latency, {result['chunks']:,} chunks, real Chroma server, over HTTP")
    for column in ("mode", "p50 ms", "p95 ms", "target p95"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for mode in MODES:
        table.add_row(mode, f"{result['p50_ms'][mode]:.1f}", f"{result['p95_ms'][mode]:.1f}", "≤ 250")
    table.add_row(
        "LangChain EnsembleRetriever (in process)",
        f"{result['langchain_p50_ms']:.1f}",
        f"{result['langchain_p95_ms']:.1f}",
        "",
    )
    Console().print(table)
    Console().print(
        f"Unfiltered p95 ms, each question asked the first time: {result['p95_ms_none_first_asked']}, "
        f"asked again: {result['p95_ms_none_asked_again']} (its candidates kept by the instance)\n"
        f"The Chroma query alone (100 candidates), p95 ms: {result['chroma_query_p95_ms']}\n"
        f"p95 ours (no filter, over HTTP) / LangChain (in process): {result['p95_ratio_vs_langchain']}\n"
        f"p95 as_user (30 % restricted) / unfiltered, same run: {result['p95_ratio_as_user_vs_none']}"
        " (target ≤ 1.2)"
    )
    print_growth([result])


def print_growth(results: list[dict[str, Any]]) -> None:
    table = Table(title="What grows with the chunks (one Chroma server, one search instance)")
    columns = {
        "chunks": lambda r: f"{r['chunks']:,}",
        "p50 / p95 ms": lambda r: f"{r['p50_ms']['none']:.0f} / {r['p95_ms']['none']:.0f}",
        "as_user p95 ms": lambda r: f"{r['p95_ms']['as_user']:.0f}",
        "load s": lambda r: f"{r['load_seconds']:.0f}",
        "keyword build s": lambda r: f"{r['keyword_build_seconds']:.1f}",
        "keyword index MB": lambda r: f"{r['keyword_index_mb']:.0f}",
        "Chroma RSS MB": lambda r: f"{r['chroma_rss_mb']:.0f}",
        "Chroma disk MB": lambda r: f"{r['chroma_disk_mb']:.0f}",
        "search instance RSS MB": lambda r: f"{r['search_instance_rss_mb']:.0f}",
    }
    for name in columns:
        table.add_column(name, justify="right")
    for result in results:
        table.add_row(*(cell(result) for cell in columns.values()))
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
