"""`kb analytics ingest`, `kb analytics query` and `kb report` on the embedded defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from common.cli.main import main
from common.config import get_settings
from common.events.model import BehaviouralSignal, ChunkAccessed, UserFeedback
from common.events.publishers import SpoolPublisher, pseudonymous_user
from common.runtime.publishing import build_publisher
from tests.support.spool import spooled_events


def _spool(kb_home: Path) -> None:
    SpoolPublisher(kb_home / "spool").publish(
        [
            ChunkAccessed(chunk_id=f"c{n}", page_id="p1", query_id="q1", rank=n + 1, source="cli")
            for n in range(4)
        ]
        + [
            UserFeedback(
                vote_id="v1",
                chunk_id="c1",
                page_id="p1",
                answer_id="a1",
                user_id="U1",
                vote="helpful",
                comment="",
                question="How do I connect?",
                quality_before=50.0,
                quality_after=56.0,
            )
        ]
    )


def test_ingest_then_query_counts_every_event_once(kb_home: Path) -> None:
    _spool(kb_home)

    first = CliRunner().invoke(main, ["analytics", "ingest", "--json"])
    again = CliRunner().invoke(main, ["analytics", "ingest", "--json"])
    result = CliRunner().invoke(
        main, ["analytics", "query", "SELECT count(*) AS n FROM chunk_access_log", "--json"]
    )

    assert json.loads(first.stdout)["inserted"] == 5, first.output
    assert json.loads(again.stdout)["inserted"] == 0
    assert json.loads(result.stdout) == [{"n": 4}]


def test_bad_sql_is_an_error_message_not_a_traceback(kb_home: Path) -> None:
    result = CliRunner().invoke(main, ["analytics", "query", "SELEC nonsense"])

    assert result.exit_code == 1
    assert "Traceback" not in result.output


def test_kb_report_writes_a_self_contained_page(kb_home: Path, tmp_path: Path) -> None:
    _spool(kb_home)
    CliRunner().invoke(main, ["analytics", "ingest"])
    out = tmp_path / "report.html"

    result = CliRunner().invoke(main, ["report", "--out", str(out)])

    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html") and 'id="report-data"' in page
    assert "<script src=" not in page and "https://" not in page.split("report-data")[0]


def test_user_ids_are_pseudonymised_when_a_salt_is_set(
    kb_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYTICS_USER_SALT", "pepper")
    get_settings.cache_clear()

    build_publisher(get_settings()).publish(
        [BehaviouralSignal(signal="source_click", answer_id="a1", user_id="U123", detail="")]
    )

    [line] = (next((kb_home / "spool").glob("*.jsonl"))).read_text().splitlines()
    assert json.loads(line)["user_id"] == pseudonymous_user("U123", "pepper") != "U123"


def test_the_decay_job_publishes_a_quality_snapshot(kb_home: Path) -> None:
    CliRunner().invoke(main, ["decay"])

    events = spooled_events(kb_home)
    [snapshot] = [e for e in events if e["kind"] == "quality_report"]
    assert snapshot["chunks"] == 0 and "quality_score" not in snapshot
