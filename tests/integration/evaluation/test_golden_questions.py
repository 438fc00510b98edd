"""`kb eval --questions` on the whole sample space: the shipped golden questions answered as the bot answers
them, their metrics, the CI gate on a deliberately broken index, and the usage rules of `kb eval`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from common.cli.main import main
from common.config import get_settings, load_settings
from common.confluence.folder_source import FolderPageSource
from common.runtime.publishing import close_publishers
from common.runtime.search import build_keyword_cache
from common.runtime.store import build_store
from tests.support.paths import REPO_ROOT, SAMPLE_SPACE
from tests.support.runs import run_sync
from tests.support.spool import spooled_events

SHIPPED = REPO_ROOT / "examples" / "golden-questions.jsonl"
POSTMORTEM_QUESTION = "Which customers did the duplicate payment run affect?"
"""Answered only by the restricted postmortem (page 1313: group `engineering`, and Priya)."""


def kb(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def _questions_file(folder: Path, *records: dict[str, Any]) -> Path:
    path = folder / "questions.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


@pytest.fixture(scope="module")
def synced_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("golden") / "kb-home"
    summary = run_sync(load_settings(kb_home=home), source=FolderPageSource(SAMPLE_SPACE))
    assert summary.errors == 0, summary.error_details
    return home


@pytest.fixture(scope="module")
def shipped_run(synced_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """One run of the shipped file with the CI gate, shared by the tests that read its output: answering
    every question takes most of a minute on these machines."""
    home = tmp_path_factory.mktemp("shipped") / "kb-home"
    shutil.copytree(synced_home, home)
    get_settings.cache_clear()
    result = kb(
        "eval", "--questions", str(SHIPPED), "--json", "--min-hit-at-3", "0.9", env={"KB_HOME": str(home)}
    )
    close_publishers()
    get_settings.cache_clear()
    return result, home


@pytest.fixture
def synced(synced_home: Path, kb_home: Path) -> Path:
    shutil.copytree(synced_home, kb_home)
    return kb_home


def _summary(result: Result) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return summary


def _mislabel_every_page(kb_home: Path) -> None:
    """Break the index the way a bad migration could: every page's chunks carry another page's id, title
    and URL. Search still finds the right text, but names the wrong page for it; the keyword index is
    rebuilt as the sync does, so both halves of hybrid search see the same lie."""
    settings = load_settings(kb_home=kb_home)
    store = build_store(settings)
    metadata = store.get_metadata()
    identity = {
        m.page_id: {"page_id": m.page_id, "page_title": m.page_title, "url": m.url} for m in metadata.values()
    }
    pages = sorted(identity)
    half = len(pages) // 2
    other = dict(zip(pages, pages[half:] + pages[:half], strict=True))
    store.batch_update_metadata({chunk_id: identity[other[m.page_id]] for chunk_id, m in metadata.items()})
    build_keyword_cache(settings, store).rebuild()


# --- the shipped file on a healthy index -----------------------------------------------------------------


def test_the_shipped_questions_pass_a_hit_at_3_minimum_of_0_9(shipped_run: tuple[Result, Path]) -> None:
    result, _ = shipped_run

    assert result.exit_code == 0, result.output
    assert _summary(result)["hit@3"] >= 0.9


def test_json_prints_exactly_the_summary_keys_and_one_entry_per_question(
    shipped_run: tuple[Result, Path],
) -> None:
    summary = _summary(shipped_run[0])

    assert set(summary) == {"hit@1", "hit@3", "hit@5", "mrr@5", "cited", "declined", "questions"}
    assert len(summary["questions"]) == len(SHIPPED.read_text().splitlines())


def test_the_shipped_file_has_questions_the_space_cannot_answer(shipped_run: tuple[Result, Path]) -> None:
    summary = _summary(shipped_run[0])

    assert 2 <= sum(q["expect_decline"] for q in summary["questions"]) <= 4
    assert summary["declined"] is not None


def test_a_run_is_recorded_as_one_golden_eval_result_event(shipped_run: tuple[Result, Path]) -> None:
    _, home = shipped_run

    [event] = [e for e in spooled_events(home) if e["kind"] == "eval_result"]

    assert (event["dataset"], event["mode"]) == ("golden:golden-questions.jsonl", "hybrid")
    assert event["hit_at_3"] == pytest.approx(_summary(shipped_run[0])["hit@3"], abs=1e-4)


# --- the CI gate on a broken index -----------------------------------------------------------------------


def test_a_broken_index_fails_the_hit_at_3_minimum_and_says_so(synced: Path, tmp_path: Path) -> None:
    """The first answerable questions of the shipped file, so the test stays quick."""
    answerable = [line for line in SHIPPED.read_text().splitlines() if '"expect_decline": true' not in line]
    questions = _questions_file(tmp_path, *(json.loads(line) for line in answerable[:6]))
    _mislabel_every_page(synced)

    result = kb("eval", "--questions", str(questions), "--json", "--min-hit-at-3", "0.9")

    assert result.exit_code == 1
    assert _summary(result)["hit@3"] < 0.9
    assert "hit@3" in result.stderr and "below the minimum 0.9000" in result.stderr


def test_a_minimum_on_cited_is_checked_too(synced: Path, tmp_path: Path) -> None:
    questions = _questions_file(
        tmp_path, {"question": "When do we get paid each month?", "expected_pages": ["1211"]}
    )
    _mislabel_every_page(synced)

    result = kb("eval", "--questions", str(questions), "--min-cited", "0.5")

    assert result.exit_code == 1
    assert "cited is 0.0000" in result.stderr


# --- what a person sees ----------------------------------------------------------------------------------


def test_the_table_shows_each_question_and_the_summary(synced: Path, tmp_path: Path) -> None:
    questions = _questions_file(
        tmp_path,
        {"question": "When is payday?", "expected_pages": ["1211"]},
        {"question": "Can I bring my dog to the office?", "expect_decline": True},
    )

    result = kb("eval", "--questions", str(questions))

    assert result.exit_code == 0, result.output
    for text in ("When is payday?", "hit@3", "mrr@5", "cited", "declined"):
        assert text in result.stdout


def test_as_an_engineer_the_restricted_postmortem_counts(synced: Path, tmp_path: Path) -> None:
    questions = _questions_file(tmp_path, {"question": POSTMORTEM_QUESTION, "expected_pages": ["1313"]})

    as_engineer = kb("eval", "--questions", str(questions), "--json", "--as", "tom.okafor@larkspur.example")
    as_anyone = kb("eval", "--questions", str(questions), "--json")

    assert _summary(as_engineer)["hit@5"] == 1.0
    assert _summary(as_anyone)["hit@5"] == 0.0


# --- usage -----------------------------------------------------------------------------------------------


def test_a_malformed_questions_file_exits_1_naming_the_line(tmp_path: Path) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text('{"question": "When is payday?", "expected_pages": ["1211"]}\n{"question": 3}\n')

    result = kb("eval", "--questions", str(questions))

    assert result.exit_code == 1
    assert "questions.jsonl:2" in result.stderr


def test_questions_and_beir_files_together_are_a_usage_error() -> None:
    result = kb("eval", "--questions", str(SHIPPED), "--corpus", str(SHIPPED))

    assert result.exit_code == 2
    assert "not both" in result.stderr


def test_neither_questions_nor_beir_files_is_a_usage_error() -> None:
    result = kb("eval")

    assert result.exit_code == 2
    assert "--questions FILE.jsonl" in result.stderr


def test_golden_minimums_with_beir_files_are_a_usage_error() -> None:
    result = kb(
        "eval",
        "--corpus",
        str(SHIPPED),
        "--queries",
        str(SHIPPED),
        "--qrels",
        str(SHIPPED),
        "--min-cited",
        "0.5",
    )

    assert result.exit_code == 2
    assert "apply to --questions only" in result.stderr
