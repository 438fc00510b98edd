"""Search latency at scale: the search function over HTTP against a real Chroma server, and the retriever a
user would otherwise pick (LangChain's EnsembleRetriever: BM25Retriever + Chroma) on the same data.

    python bench/search_latency.py [--chunks 100000] [--queries 40] [--json]

Modes: `none` (no filter), `space` and `classification` (filters), and `as_user`: 30 % of the pages are
restricted (to group `engineering` or group `hr`, half each) and the search runs as an engineer of the
sample space (`as_user` with SEARCH_AS_USER_API_KEY), so the retriever drops what they may not read; its p95
is compared with the unfiltered p95 of the same run (`p95_ratio_as_user_vs_none`).

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
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common.runtime.store import build_store

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx
import numpy as np
from rich.console import Console
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


def synthetic_chunks(count: int, seed: int = 7) -> list[Chunk]:
    settings = load_settings(kb_home=Path(tempfile.mkdtemp(prefix="kb-pool-")))
    run_sync(settings, source=FolderPageSource(SAMPLE_SPACE_DIR))
    pool = build_store(settings).get_chunks(where={"space_key": "HB"}, with_embeddings=True)
    rng = np.random.default_rng(seed)
    vectors = np.asarray([c.embedding for c in pool], dtype=np.float32)
    first, second = rng.integers(len(pool), size=count), rng.integers(len(pool), size=count)
    mixed = 0.75 * vectors[first] + 0.25 * vectors[second]
    mixed += 0.02 * rng.standard_normal(mixed.shape, dtype=np.float32)
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    ages = rng.integers(720, size=count)
    now = datetime.now(UTC)
    chunks = []
    for index in range(count):
        a, b, page = int(first[index]), int(second[index]), index // 10
        template = pool[a].metadata
        meta = template.model_copy(
            update={
                "page_id": f"p{page}",
                "page_title": f"{template.page_title} {page}",
                "chunk_index": index % 10,
                "space_key": SPACES[page % len(SPACES)],
                "classification": LEVELS[page % len(LEVELS)],
                "updated_at": now - timedelta(days=int(ages[index])),
                "content_hash": f"synthetic-{index:08d}",
            }
        )
        if page % 10 < RESTRICTED_TENTHS:
            meta = meta.model_copy(update={"read_rules": (RESTRICTED_TO[page % 2],), "restricted": True})
        text = f"{pool[a].text}\n{pool[b].text.split('.')[0]}."
        chunks.append(Chunk(f"c{index:07d}", text, meta, tuple(float(v) for v in mixed[index])))
    return chunks


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
    port: int, filters: dict[str, object], rounds: int, *, as_user: str | None = None
) -> list[float]:
    timings = []
    extra = {"as_user": as_user} if as_user else {}
    headers = {"Authorization": f"Bearer {AS_USER_KEY}"} if as_user else {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, headers=headers) as client:
        for round_ in range(rounds):
            query = QUERIES[round_ % len(QUERIES)]
            started = time.perf_counter()
            response = client.post("/", json={"query": query, "top_k": 10, "filters": filters, **extra})
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return timings


def time_langchain(chunks: list[Chunk], chroma_url: str, collection: str, rounds: int) -> list[float]:
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
    keyword = BM25Retriever.from_texts([c.text for c in chunks], k=10)
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


def main() -> None:
    configure_logging(log_format="console", level="WARNING")
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=40, help="timed requests per mode")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="kb-latency-"))
    server = ChromaServer(work / "chroma").start()
    function: subprocess.Popen[bytes] | None = None
    try:
        settings = load_settings(
            kb_home=work / "home",
            chroma_url=server.url,
            chroma_collection="latency",
            chroma_timeout_seconds=300,
        )
        chunks = synthetic_chunks(args.chunks)
        store = build_store(settings)
        for start in range(0, len(chunks), 2000):
            store.upsert(chunks[start : start + 2000])
        build_keyword_cache(settings, store).rebuild()
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
        everything = {"max_classification": "confidential"}
        modes: dict[str, tuple[dict[str, object], str | None]] = {
            "none": (everything, None),
            "space": ({"spaces": ["ENG"], "max_classification": "confidential"}, None),
            "classification": ({"max_classification": "public"}, None),
            "as_user": (everything, AS_USER),
        }
        for filters, as_user in modes.values():
            time_http(port, filters, 5, as_user=as_user)
        timings = {mode: time_http(port, f, args.queries, as_user=who) for mode, (f, who) in modes.items()}
        chroma = time_chroma_filters(store, args.queries)
        baseline = time_langchain(chunks, server.url, "latency", max(5, args.queries // 2))
    finally:
        if function is not None:
            function.kill()
        server.stop()

    result = {
        "median_ms": {mode: round(p(t, 50), 1) for mode, t in timings.items()},
        "p50_ms": {mode: round(p(t, 50), 1) for mode, t in timings.items()},
        "p95_ms": {mode: round(p(t, 95), 1) for mode, t in timings.items()},
        "chroma_query_p95_ms": {name: round(p(t, 95), 1) for name, t in chroma.items()},
        "langchain_p50_ms": round(p(baseline, 50), 1),
        "langchain_p95_ms": round(p(baseline, 95), 1),
    }
    p95 = {mode: p(t, 95) for mode, t in timings.items()}
    result["p95_ratio_vs_langchain"] = round(p95["none"] / p(baseline, 95), 3)
    result["p95_ratio_as_user_vs_none"] = round(p95["as_user"] / p95["none"], 3)
    result["median_ratio_as_user_vs_none"] = round(p(timings["as_user"], 50) / p(timings["none"], 50), 3)
    if args.json:
        print(json.dumps(result))
        return
    table = Table(title=f"Search latency, {args.chunks:,} chunks, real Chroma server, over HTTP")
    for column in ("mode", "p50 ms", "p95 ms", "target p95"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for mode, t in timings.items():
        table.add_row(mode, f"{p(t, 50):.1f}", f"{p(t, 95):.1f}", "≤ 250")
    table.add_row(
        "LangChain EnsembleRetriever (in process)", f"{p(baseline, 50):.1f}", f"{p(baseline, 95):.1f}", ""
    )
    Console().print(table)
    filters_table = Table(title="The Chroma query alone (100 candidates), in process")
    for column in ("query", "p50 ms", "p95 ms"):
        filters_table.add_column(column, justify="left" if column == "query" else "right")
    for name, t in chroma.items():
        filters_table.add_row(name, f"{p(t, 50):.1f}", f"{p(t, 95):.1f}")
    Console().print(filters_table)
    Console().print(
        f"p95 ours (no filter, over HTTP) / LangChain (in process): {result['p95_ratio_vs_langchain']}"
    )
    Console().print(
        f"p95 as_user (30 % restricted) / unfiltered, same run: {result['p95_ratio_as_user_vs_none']}"
        " (target ≤ 1.2)"
    )


if __name__ == "__main__":
    main()
