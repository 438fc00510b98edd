"""The `kb` commands and the sync job, run through their real entry points."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from common.cli.main import main
from common.config import get_settings
from common.runtime.store import build_store
from jobs import confluence_sync
from tests.support.chroma_server import free_port
from tests.support.sample_space import IT_SECTION, copy_sample_space
from tests.support.spool import spooled_events


@pytest.fixture
def it_space(tmp_path: Path) -> Path:
    return copy_sample_space(tmp_path / "it", only=IT_SECTION)


def test_kb_sync_json_prints_one_summary_object(it_space: Path) -> None:
    result = CliRunner().invoke(main, ["sync", "--from-dir", str(it_space), "--json"])

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["pages_seen"] == len(IT_SECTION)
    assert summary["chunks_embedded"] == summary["chunks_upserted"] > 0
    assert summary["errors"] == 0


def test_kb_search_after_sync_returns_cited_passages(it_space: Path) -> None:
    synced = CliRunner().invoke(main, ["sync", "--from-dir", str(it_space)])

    result = CliRunner().invoke(main, ["search", "How do I connect to the VPN from home?", "--json"])

    hits = json.loads(result.stdout)
    assert (synced.exit_code, result.exit_code) == (0, 0)
    assert hits[0]["page_title"] in {"VPN Setup", "IT FAQ"}
    assert hits[0]["url"].startswith("https://larkspur.example/wiki/")


def test_unreachable_chroma_exits_75_with_a_readable_message(
    it_space: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHROMA_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("CHROMA_RETRIES", "0")

    result = CliRunner().invoke(main, ["sync", "--from-dir", str(it_space)])

    assert result.exit_code == 75
    assert "CHROMA_URL" in result.stderr
    assert "Traceback" not in result.output


def test_invalid_setting_exits_2_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHROMA_TIMEOUT_SECONDS", "soon")

    result = CliRunner().invoke(main, ["search", "vpn"])

    assert result.exit_code == 2
    assert "CHROMA_TIMEOUT_SECONDS" in result.stderr


def test_confluence_without_spaces_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFLUENCE_URL", "https://acme.atlassian.net/wiki")

    result = CliRunner().invoke(main, ["sync"])

    assert result.exit_code == 2
    assert "CONFLUENCE_SPACES" in result.stderr


def test_sync_job_syncs_its_share_of_spaces_and_exits_0(
    it_space: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAMPLE_SPACE_DIR", str(it_space))
    monkeypatch.setenv("CLOUD_RUN_TASK_INDEX", "0")
    monkeypatch.setenv("CLOUD_RUN_TASK_COUNT", "1")

    assert confluence_sync.main() == 0


def test_a_sync_job_task_with_no_spaces_does_nothing_and_exits_0(
    it_space: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAMPLE_SPACE_DIR", str(it_space))
    monkeypatch.setenv("CLOUD_RUN_TASK_INDEX", "1")
    monkeypatch.setenv("CLOUD_RUN_TASK_COUNT", "2")

    assert confluence_sync.main() == 0
    assert build_store(get_settings()).count() == 0


def test_a_sync_that_changed_chunks_leaves_a_fresh_keyword_index(it_space: Path, kb_home: Path) -> None:
    CliRunner().invoke(main, ["sync", "--from-dir", str(it_space)])

    manifest = json.loads((kb_home / "keyword-index" / "knowledge_base" / "manifest.json").read_text())

    assert len(manifest["ids"]) == build_store(get_settings()).count()


def test_kb_ask_prints_the_answer_the_bot_would_post_with_its_sources(it_space: Path) -> None:
    CliRunner().invoke(main, ["sync", "--from-dir", str(it_space)])

    result = CliRunner().invoke(main, ["ask", "How do I connect to the VPN from home?", "--json"])

    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["found"] and "vpn.larkspur.example" in answer["answer"]
    assert answer["sources"][0]["url"].startswith("https://larkspur.example/wiki/")


def test_kb_ask_is_recorded_like_a_slack_question_and_fills_the_report(
    it_space: Path, kb_home: Path, tmp_path: Path
) -> None:
    CliRunner().invoke(main, ["sync", "--from-dir", str(it_space)])
    CliRunner().invoke(main, ["ask", "How do I connect to the VPN from home?"])
    CliRunner().invoke(
        main, ["ask", "What will the weather be on Mars?", "--as", "tom.okafor@larkspur.example"]
    )

    result = CliRunner().invoke(main, ["report", "--out", str(tmp_path / "report.html")])

    assert result.exit_code == 0, result.output
    events = spooled_events(kb_home)
    asked = [e for e in events if e["kind"] == "query_record"]
    answered = [e for e in events if e["kind"] == "bot_response"]
    assert [(e["source"], e["user_id"]) for e in asked] == [("cli", "cli"), ("cli", "cli")]
    assert [e["grounded"] for e in answered] == [True, False]
    assert answered[0]["cited_chunk_ids"]
    page = (tmp_path / "report.html").read_text()
    assert "What will the weather be on Mars?".lower() in page.lower()
