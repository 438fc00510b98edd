"""The nightly evaluation over the synced IT section, with several days of questions stored through the real
ingest path, the offline judge on the bundled model and a Slack stand-in as the admin channel."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from common.analytics.query import query
from common.config import Settings, load_settings
from common.confluence.folder_source import FolderPageSource
from common.evaluation.nightly import NightlySummary
from common.events.model import Event, QualityReport, QueryRecord
from common.events.publishers import SpoolPublisher
from common.runtime.events import build_period_files
from common.runtime.nightly import run_nightly_evaluation
from common.runtime.store import build_store
from tests.support.asked import asked
from tests.support.runs import run_analytics_ingest, run_sync
from tests.support.sample_space import IT_SECTION, copy_sample_space
from tests.support.slack_standin import SlackStandin

NOW = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)
YESTERDAY = NOW - timedelta(days=1)
ADMINS = "CADMINS"
ANSWERED_YESTERDAY = ("How do I connect to the VPN from home?", "How do I reset my password?")
DECLINED = "Who won the football world cup in 1998?"
GOLDEN = (
    {
        "question": "How do I connect to the VPN when I'm working from home?",
        "expected_pages": ["1101", "1107"],
    },
    {"question": "Who won the football world cup in 1998?", "expect_decline": True},
)


@dataclass(frozen=True)
class Evaluated:
    first: NightlySummary
    second: NightlySummary
    settings: Settings
    yesterday_ids: dict[str, str]
    """Question text to question id, for the questions asked yesterday."""
    posts: list[dict[str, Any]]
    """What reached the admin channel, after both runs."""

    def rows(self, sql: str) -> list[dict[str, Any]]:
        scratch = self.settings.kb_home / "scratch"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        result = query(build_period_files(self.settings).local_copies(scratch), sql)
        return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


@pytest.fixture(scope="module")
def synced_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nightly")
    home = root / "kb-home"
    run_sync(
        load_settings(kb_home=home), source=FolderPageSource(copy_sample_space(root / "it", only=IT_SECTION))
    )
    return home


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandin]:
    with SlackStandin() as standin:
        yield standin


def _home(synced_home: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    home = tmp_path_factory.mktemp(name) / "kb-home"
    shutil.copytree(synced_home, home)
    return home


def _settings(home: Path, slack: SlackStandin, **overrides: Any) -> Settings:
    return load_settings(
        **{
            "kb_home": home,
            "slack_bot_token": "xoxb-test",
            "slack_api_url": slack.api_url,
            "knowledge_admin_channel": ADMINS,
            **overrides,
        }
    )


def _store(settings: Settings, events: list[Event]) -> None:
    SpoolPublisher(settings.kb_home / "spool").publish(events)
    run_analytics_ingest(settings)


def _question_id(events: list[Event]) -> str:
    [record] = [event for event in events if isinstance(event, QueryRecord)]
    return record.question_id


def _run(settings: Settings) -> NightlySummary:
    summary = run_nightly_evaluation(settings, build_store(settings), now=NOW)
    run_analytics_ingest(settings)
    return summary


@pytest.fixture(scope="module")
def evaluated(synced_home: Path, slack: SlackStandin, tmp_path_factory: pytest.TempPathFactory) -> Evaluated:
    """Three days of questions, a declined one among yesterday's, the golden questions, and an evaluation
    report a week before with perfect scores; evaluated twice, as a retried job would be."""
    home = _home(synced_home, tmp_path_factory, "regression")
    golden = home.parent / "golden.jsonl"
    golden.write_text("".join(json.dumps(line) + "\n" for line in GOLDEN))
    settings = _settings(home, slack, golden_questions=golden)
    yesterday = {
        text: asked(text, at=YESTERDAY.replace(hour=9 + n))
        for n, text in enumerate((*ANSWERED_YESTERDAY, DECLINED))
    }
    perfect = QualityReport(
        occurred_at=NOW - timedelta(days=7),
        report="evaluation",
        answers_evaluated=10,
        groundedness=1.0,
        relevance=1.0,
        completeness=1.0,
        golden_hit_at_3=1.0,
    )
    _store(
        settings,
        [
            *asked("How do I print from home?", at=NOW - timedelta(days=2)),
            *(event for events in yesterday.values() for event in events),
            *asked("What printers are in Dublin?", at=NOW.replace(hour=1)),
            perfect,
        ],
    )
    first = _run(settings)
    second = _run(settings)
    return Evaluated(
        first=first,
        second=second,
        settings=settings,
        yesterday_ids={text: _question_id(events) for text, events in yesterday.items()},
        posts=[call.args for call in slack.messages_to(ADMINS)],
    )


def test_every_question_answered_yesterday_is_evaluated_and_no_other(evaluated: Evaluated) -> None:
    rows = evaluated.rows("SELECT question_id FROM eval_results WHERE dataset = 'nightly'")

    assert sorted(row["question_id"] for row in rows) == sorted(evaluated.yesterday_ids.values())


def test_an_answered_question_gets_its_three_scores_from_the_offline_judge(evaluated: Evaluated) -> None:
    vpn = evaluated.yesterday_ids[ANSWERED_YESTERDAY[0]]
    [row] = evaluated.rows(
        "SELECT run_id, mode, queries, judge, declined, groundedness, relevance, completeness"
        f" FROM eval_results WHERE question_id = '{vpn}'"
    )

    assert row["run_id"] == f"nightly-{YESTERDAY.date().isoformat()}"
    assert (row["mode"], row["queries"], row["judge"], row["declined"]) == ("answer", 1, "offline", 0.0)
    assert row["groundedness"] > 0.9  # the offline writer quotes its passages
    assert row["relevance"] > 0.5
    assert row["completeness"] > 0.5


def test_a_question_the_bot_now_declines_is_counted_and_not_judged(evaluated: Evaluated) -> None:
    declined = evaluated.yesterday_ids[DECLINED]
    [row] = evaluated.rows(
        "SELECT declined, groundedness, relevance, completeness FROM eval_results"
        f" WHERE question_id = '{declined}'"
    )

    assert row == {"declined": 1.0, "groundedness": None, "relevance": None, "completeness": None}
    assert (evaluated.first.judged, evaluated.first.declined) == (2, 1)


def test_the_golden_questions_are_run_and_reported(evaluated: Evaluated) -> None:
    [row] = evaluated.rows(
        "SELECT queries, hit_at_3, declined FROM eval_results WHERE dataset = 'golden:golden.jsonl'"
    )

    assert row == {"queries": 2, "hit_at_3": 1.0, "declined": 1.0}


def test_one_evaluation_report_holds_the_day_and_its_alerts(evaluated: Evaluated) -> None:
    reports = evaluated.rows(
        "SELECT answers_evaluated, relevance, golden_hit_at_3, alerts FROM quality_reports"
        " WHERE report = 'evaluation' ORDER BY occurred_at"
    )

    [_, report] = reports  # the seeded one of a week before, then this day's
    assert report["answers_evaluated"] == 2
    assert report["relevance"] == evaluated.first.scores["relevance"]
    assert report["golden_hit_at_3"] == 1.0
    assert list(report["alerts"]) == list(evaluated.first.alerts)


def test_a_fall_since_the_report_a_week_before_alerts(evaluated: Evaluated) -> None:
    assert any(alert.startswith("relevance fell") for alert in evaluated.first.alerts)
    assert not any(alert.startswith("golden hit@3") for alert in evaluated.first.alerts)  # 1.0 both weeks


def test_the_alerts_reach_the_admin_channel_in_one_message(evaluated: Evaluated) -> None:
    [post] = evaluated.posts

    assert evaluated.first.posted
    assert f"Nightly evaluation of {YESTERDAY.date().isoformat()}" in post["text"]
    assert all(alert in post["text"] for alert in evaluated.first.alerts)


def test_a_second_run_of_the_same_day_posts_nothing_and_stores_nothing_twice(evaluated: Evaluated) -> None:
    assert (evaluated.second.alerts, evaluated.second.posted) == (evaluated.first.alerts, False)
    assert len(evaluated.posts) == 1
    [count] = evaluated.rows("SELECT count(*) AS n FROM eval_results")
    assert count["n"] == len(evaluated.yesterday_ids) + 1  # the golden run


def test_a_day_with_nothing_under_target_and_nothing_to_compare_posts_nothing(
    synced_home: Path, slack: SlackStandin, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = _settings(
        _home(synced_home, tmp_path_factory, "steady"), slack, knowledge_admin_channel="CQUIET"
    )
    _store(settings, asked(ANSWERED_YESTERDAY[0], at=YESTERDAY))

    summary = _run(settings)

    assert (summary.judged, summary.alerts, summary.posted) == (1, (), False)
    assert slack.messages_to("CQUIET") == []


def test_a_metric_under_its_target_alerts(
    synced_home: Path, slack: SlackStandin, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = _settings(
        _home(synced_home, tmp_path_factory, "strict"),
        slack,
        knowledge_admin_channel="CSTRICT",
        eval_target_relevance=0.99,
    )
    _store(settings, asked(ANSWERED_YESTERDAY[0], at=YESTERDAY))

    summary = _run(settings)

    [alert] = summary.alerts
    assert alert.startswith("relevance is") and alert.endswith("under its target 0.99")
    assert len(slack.messages_to("CSTRICT")) == 1


def test_eval_day_evaluates_that_day_whenever_the_job_runs(
    synced_home: Path, slack: SlackStandin, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = _home(synced_home, tmp_path_factory, "eval-day")
    settings = _settings(home, slack, eval_day=YESTERDAY.date())
    _store(settings, asked(ANSWERED_YESTERDAY[0], at=YESTERDAY.replace(hour=9)))

    summary = run_nightly_evaluation(settings, build_store(settings), now=NOW + timedelta(days=10))

    assert (summary.day, summary.answered, summary.judged) == (YESTERDAY.date(), 1, 1)
