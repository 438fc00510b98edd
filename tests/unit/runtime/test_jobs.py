"""What every job does around its work: its log lines carry the job, and lines after it do not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from common.config import Settings, get_settings
from common.errors import EXIT_OK, EXIT_UNAVAILABLE, StoreUnavailable
from common.infra.http_reply import HttpReply
from common.logs import get_logger
from common.runtime.jobs import run_job
from common.slack.questions import Question
from common.slack.webhook import EventsWebhook

log = get_logger(__name__)


class _Queue:
    def submit(self, question: Question) -> None:
        raise AssertionError("nothing is queued by a refused request")


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("CLOUD_RUN_TASK_INDEX", "1")
    monkeypatch.setenv("CLOUD_RUN_TASK_COUNT", "2")
    get_settings.cache_clear()


def _lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def _work(settings: Settings) -> tuple[dict[str, object], int]:
    log.info("working")
    return {"done": 1}, EXIT_OK


def test_every_line_of_a_job_carries_the_job_and_its_task(
    json_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_job("demo", _work) == EXIT_OK

    lines = _lines(capsys.readouterr().err)
    assert [(line["message"], line["job"], line["task"]) for line in lines] == [
        ("working", "demo", "1/2"),
        ("demo_finished", "demo", "1/2"),
    ]


def test_a_webhook_line_after_a_job_carries_no_job_fields(
    json_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    run_job("demo", _work)
    capsys.readouterr()

    reply = EventsWebhook(signing_secret="secret", queue=_Queue()).handle(body=b"{}", headers={})

    assert reply == HttpReply(401, reply.body)
    [line] = _lines(capsys.readouterr().err)
    assert line["message"] == "slack_request_rejected"
    assert "job" not in line and "task" not in line


def test_a_failed_job_logs_its_failure_with_the_job_and_exits_with_its_status(
    json_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    def fails(settings: Settings) -> tuple[dict[str, object], int]:
        raise StoreUnavailable("Chroma is down")

    assert run_job("demo", fails) == EXIT_UNAVAILABLE

    [line] = _lines(capsys.readouterr().err)
    assert (line["message"], line["job"], line["error"]) == ("demo_failed", "demo", "Chroma is down")
