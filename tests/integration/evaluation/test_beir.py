"""`kb eval` on a small BEIR-format collection cut from SciFact's train split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from common.cli.main import main
from tests.support.paths import SHARED
from tests.support.spool import spooled_events

SCIFACT = SHARED / "bench-data" / "scifact"


@pytest.fixture(scope="module")
def small_beir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight train queries, their relevant abstracts and forty others."""
    folder = tmp_path_factory.mktemp("beir")
    rows = (SCIFACT / "qrels" / "train.tsv").read_text().splitlines()[1:9]
    wanted_queries = {row.split("\t")[0] for row in rows}
    relevant = {row.split("\t")[1] for row in rows}
    corpus = []
    with (SCIFACT / "corpus.jsonl").open() as lines:
        for line in lines:
            doc = json.loads(line)
            if doc["_id"] in relevant or len(corpus) < 40:
                corpus.append(line)
    queries = [
        line
        for line in (SCIFACT / "queries.jsonl").read_text().splitlines()
        if json.loads(line)["_id"] in wanted_queries
    ]
    (folder / "corpus.jsonl").write_text("".join(corpus))
    (folder / "queries.jsonl").write_text("\n".join(queries) + "\n")
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(rows) + "\n")
    return folder


def _eval(folder: Path, *extra: str) -> Result:
    args = ["eval", "--corpus", str(folder / "corpus.jsonl"), "--queries", str(folder / "queries.jsonl")]
    return CliRunner().invoke(main, [*args, "--qrels", str(folder / "qrels.tsv"), *extra])


def test_eval_json_reports_the_three_metrics_for_each_mode(small_beir: Path) -> None:
    result = _eval(small_beir, "--json")

    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(scores) == {"dense", "keyword", "hybrid"}
    for mode in scores.values():
        assert set(mode) == {"ndcg@10", "recall@100", "mrr@10"}
        assert all(0.0 <= value <= 1.0 for value in mode.values())
    assert scores["hybrid"]["ndcg@10"] > 0.5


def test_each_eval_run_is_recorded_as_eval_result_events(small_beir: Path, kb_home: Path) -> None:
    _eval(small_beir, "--json")

    events = spooled_events(kb_home)
    results = [e for e in events if e["kind"] == "eval_result"]
    assert sorted(e["mode"] for e in results) == ["dense", "hybrid", "keyword"]
    assert len({e["run_id"] for e in results}) == 1


def test_a_malformed_qrels_file_is_a_clear_error(small_beir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "qrels.tsv"
    broken.write_text("query-id\tcorpus-id\tscore\n1 31715818 1\n")

    result = CliRunner().invoke(
        main,
        [
            "eval",
            "--corpus",
            str(small_beir / "corpus.jsonl"),
            "--queries",
            str(small_beir / "queries.jsonl"),
            "--qrels",
            str(broken),
        ],
    )

    assert result.exit_code == 1
    assert "qrels.tsv:2" in result.stderr
