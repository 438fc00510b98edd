"""The nightly evaluation as Cloud Run runs it: `python -m jobs.nightly_eval` against the running system, over
days of questions that went through Pub/Sub and the ingest job into the analytics files in GCS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest

from common.events.model import Event, QualityReport, QueryRecord
from common.infra.pubsub import PubSubPublisher
from tests.support.asked import asked
from tests.support.slack_standin import SlackStandin
from tests.support.system import PROJECT, System

pytestmark = pytest.mark.e2e

ADMINS = "CEVALADMINS"


def _publish(system: System, events: list[Event]) -> None:
    topic = PubSubPublisher(PROJECT, system.analytics_topic, endpoint=system.env["PUBSUB_ENDPOINT"])
    failed = topic.publish_many([(json.dumps(e.to_record()).encode(), {"kind": e.kind}) for e in events])
    assert failed == []


def test_a_nightly_run_over_seeded_days_writes_eval_rows_and_a_regression_posts_one_alert(
    system: System, slack_api: SlackStandin
) -> None:
    today = datetime.now(UTC).date()
    yesterday = datetime.combine(today - timedelta(days=1), time(12), UTC)
    answered = [
        asked("How do I connect to the VPN from home?", at=yesterday),
        asked("How do I reset my Okta password?", at=yesterday + timedelta(hours=1)),
    ]
    week_before = QualityReport(
        occurred_at=datetime.combine(today - timedelta(days=7), time(4), UTC),
        report="evaluation",
        answers_evaluated=20,
        groundedness=1.0,
        relevance=1.0,
        completeness=1.0,
    )
    _publish(
        system,
        [
            *asked("How do I print from home?", at=yesterday - timedelta(days=1)),
            *(event for events in answered for event in events),
            week_before,
        ],
    )
    assert system.run_job("analytics_ingest").status == 0
    run_id = f"nightly-{yesterday.date().isoformat()}"

    day = {
        "KNOWLEDGE_ADMIN_CHANNEL": ADMINS,
        "EVAL_DAY": yesterday.date().isoformat(),
    }  # never across midnight
    first = system.run_job("nightly_eval", **day)

    assert first.status == 0, first.output
    summary = first.finished("nightly_eval")
    assert (summary["answered"], summary["judged"], summary["posted"]) == (2, 2, True)
    rows = system.ingest_until(
        f"SELECT question_id, groundedness FROM eval_results WHERE run_id = '{run_id}'"
    )
    asked_ids = {e.question_id for events in answered for e in events if isinstance(e, QueryRecord)}
    assert {row["question_id"] for row in rows} == asked_ids
    assert all(row["groundedness"] is not None for row in rows)
    [report] = system.analytics_query(
        "SELECT alerts FROM quality_reports WHERE report = 'evaluation' AND answers_evaluated = 2"
    )
    assert report["alerts"] == summary["alerts"] != []
    [post] = slack_api.messages_to(ADMINS)
    assert all(alert in post.args["text"] for alert in summary["alerts"])

    again = system.run_job("nightly_eval", **day)

    assert again.status == 0, again.output
    assert again.finished("nightly_eval")["posted"] is False
    assert len(slack_api.messages_to(ADMINS)) == 1
