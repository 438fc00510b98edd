"""Queries across monthly files and the HTML report built on them, checked through its embedded numbers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from common.analytics.query import query
from common.analytics.report import render_report
from common.analytics.schema import TABLES
from common.analytics.store import append_records, file_name, open_store, period_of
from common.errors import AnalyticsQueryError
from common.events.model import BehaviouralSignal, QualityReport, UserFeedback
from tests.support.browser import screenshot
from tests.support.png import colour_bands

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
FIRST_SERIES = (0x4C, 0x78, 0xA8)
"""The first colour of `common.analytics.charts.PALETTE`: every chart's first series (and its legend)."""
CHART_ROWS = 30
"""Taller than a legend swatch: a band this tall is bars or lines."""
VOID = {"meta", "br", "hr", "img", "link", "input"}


def record(kind: str, event_id: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "version": 1, "event_id": event_id, "occurred_at": at.isoformat(), **fields}


SEARCH = {"user_id": "U1", "channel_type": "im", "results": 3, "top_score": 0.7, "source": "slack"}
ANSWER = {"writer": "extractive", "latency_ms": 900.0}
VOTE = {"chunk_id": "c1", "page_id": "p1", "user_id": "U2", "comment": "", "question": ""}


def asked(question_id: str, text: str, at: datetime, latency_ms: float) -> dict[str, Any]:
    fields = {**SEARCH, "question_id": question_id, "query": text, "latency_ms": latency_ms}
    return record("query_record", f"qr-{question_id}", at, **fields)


def answered(answer_id: str, question_id: str, at: datetime, *, grounded: bool) -> dict[str, Any]:
    fields = {**ANSWER, "answer_id": answer_id, "question_id": question_id, "grounded": grounded}
    cited = ["c1"] if grounded else []
    return record(
        "bot_response", f"br-{answer_id}", at + timedelta(seconds=2), cited_chunk_ids=cited, **fields
    )


def voted(event_id: str, vote_id: str, answer_id: str, vote: str, at: datetime) -> dict[str, Any]:
    fields = {**VOTE, "vote_id": vote_id, "answer_id": answer_id, "vote": vote}
    return UserFeedback(
        event_id=event_id, occurred_at=at, quality_before=None, quality_after=None, **fields
    ).to_record()


def signalled(event_id: str, signal: str, answer_id: str, at: datetime) -> dict[str, Any]:
    return BehaviouralSignal(
        event_id=event_id, occurred_at=at, signal=signal, answer_id=answer_id, user_id="U3", chunk_ids=["c1"]
    ).to_record()


def evaluated(event_id: str, at: datetime, groundedness: float, alerts: Sequence[str] = ()) -> dict[str, Any]:
    return QualityReport(
        event_id=event_id,
        occurred_at=at,
        report="evaluation",
        answers_evaluated=4,
        groundedness=groundedness,
        relevance=0.6,
        completeness=0.55,
        golden_hit_at_3=0.9,
        alerts=list(alerts),
    ).to_record()


def seeded_records() -> list[dict[str, Any]]:
    old, oct20, oct21, nov3 = (
        datetime(2026, m, d, 9, tzinfo=UTC) for m, d in ((10, 1), (10, 20), (10, 21), (11, 3))
    )
    return [
        asked("q0", "Out of the window", old, 10),
        asked("q1", "How do I book leave?", oct20, 100),
        answered("a1", "q1", oct20, grounded=False),
        asked("q2", "  how do I book LEAVE? ", oct20 + timedelta(hours=1), 300),
        answered("a2", "q2", oct20 + timedelta(hours=1), grounded=True),
        voted("f2", "v2", "a2", "not_helpful", oct20 + timedelta(hours=2)),
        asked("q3", "VPN setup", oct21, 50),
        answered("a3", "q3", oct21, grounded=True),
        voted("f3", "v3", "a3", "helpful", oct21 + timedelta(hours=1)),
        asked("q4", "Expense policy <script>alert(1)</script>", nov3, 200),
        answered("a4", "q4", nov3, grounded=False),
        asked("q5", "vpn setup", nov3, 400),
        answered("a5", "q5", nov3, grounded=True),
        voted("f5a", "v5", "a5", "not_helpful", nov3 + timedelta(hours=1)),
        voted("f5b", "v5", "a5", "helpful", nov3 + timedelta(days=1)),
        signalled("s3", "reaction_positive", "a3", oct21 + timedelta(minutes=1)),
        signalled("s5", "follow_up", "a5", nov3 + timedelta(minutes=3)),
        evaluated("e1", datetime(2026, 11, 2, 3, tzinfo=UTC), 0.82),
        evaluated(
            "e2", datetime(2026, 11, 9, 3, tzinfo=UTC), 0.61, ["groundedness 0.61 under its target 0.70"]
        ),
    ]


REVIEW_QUEUE = [
    dict(zip(("page_id", "title", "url", "owner", "quality", "overdue_days"), row, strict=True))
    for row in (
        ("p1", "Leave & holidays", "https://wiki/p1", "ann", 22.5, 0),
        ("p2", "VPN <setup>", "javascript:alert(1)", "bob", 55.0, 40),
        ("p3", "Expenses", "https://wiki/p3", "ann", 48.0, 12),
    )
]


def write_periods(directory: Path, records: Sequence[dict[str, Any]]) -> list[Path]:
    """What the ingest job does: one file per UTC month of `occurred_at`."""
    by_period: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_period.setdefault(period_of(record), []).append(record)
    paths = []
    for period, batch in sorted(by_period.items()):
        path = directory / file_name(period)
        with open_store(path) as conn:
            assert append_records(conn, batch).rejected == ()
        paths.append(path)
    return paths


@pytest.fixture
def periods(tmp_path: Path) -> list[Path]:
    return write_periods(tmp_path, seeded_records())


class _Checker(HTMLParser):
    """Fails on any unbalanced tag; collects the embedded report data and every link target."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.data_json = ""
        self.hrefs: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value or "" for name, value in attrs if name == "href"]
        self.scripts += tag == "script"
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value or "" for name, value in attrs if name == "href"]

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, f"unbalanced </{tag}>"

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] == "script":
            self.data_json += data


def checked(page: str) -> tuple[dict[str, Any], _Checker]:
    ET.fromstring(page)  # well-formed XML as well as HTML
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.open == []
    data: dict[str, Any] = json.loads(checker.data_json)
    return data, checker


def test_query_spans_every_monthly_file(periods: list[Path]) -> None:
    assert [p.name for p in periods] == ["events-2026-10.duckdb", "events-2026-11.duckdb"]
    result = query(
        periods,
        "SELECT strftime(occurred_at, '%Y-%m') AS month, count(*) AS n FROM query_records"
        " GROUP BY month ORDER BY month",
    )
    assert result.columns == ["month", "n"]
    assert result.rows == [("2026-10", 4), ("2026-11", 2)]
    assert query(periods, "SELECT count(*) FROM event_log").rows == [(len(seeded_records()),)]


def test_no_files_give_the_empty_schema() -> None:
    for table in TABLES:
        assert query([], f"SELECT count(*) FROM {table}").rows == [(0,)]


@pytest.mark.parametrize(
    ("sql", "detail"),
    [
        ("SELEC count(*) FROM user_feedback", "syntax error"),
        ("SELECT count(*) FROM nothing_here", "nothing_here"),
        ("SELECT * FROM read_csv('/etc/hostname')", "disabled by configuration"),
    ],
)
def test_bad_sql_raises_a_typed_error(periods: list[Path], sql: str, detail: str) -> None:
    with pytest.raises(AnalyticsQueryError, match="Analytics query failed") as failure:
        query(periods, sql)
    assert detail in str(failure.value)
    assert "user_feedback" in str(failure.value)


def test_a_missing_file_names_itself(tmp_path: Path) -> None:
    with pytest.raises(AnalyticsQueryError, match=r"Cannot open analytics file .*events-2026-01\.duckdb"):
        query([tmp_path / "events-2026-01.duckdb"], "SELECT 1")


def test_report_shows_the_seeded_numbers(periods: list[Path]) -> None:
    data, checker = checked(render_report(periods, now=NOW, review_queue=REVIEW_QUEUE))
    assert data["window"] == {"start": "2026-10-12", "end": "2026-11-10", "days": 30}
    per_day = {row["day"]: row["questions"] for row in data["questions_per_day"]}
    assert len(per_day) == 30 and sum(per_day.values()) == 5
    assert (per_day["2026-10-20"], per_day["2026-10-21"], per_day["2026-11-03"]) == (2, 1, 2)
    answers = data["answers"]
    assert (answers["answered"], answers["no_answer"], answers["no_answer_rate"]) == (3, 2, 0.4)
    assert {"day": "2026-10-20", "answered": 1, "no_answer": 1} in answers["per_day"]
    weeks = {row["week"]: row for row in data["feedback_by_week"]}
    assert list(weeks) == ["2026-10-12", "2026-10-19", "2026-10-26", "2026-11-02", "2026-11-09"]
    assert weeks["2026-10-19"] == {
        "week": "2026-10-19",
        "helpful": 1,
        "not_helpful": 1,
        "outdated": 0,
        "incorrect": 0,
    }
    assert weeks["2026-11-02"]["helpful"] == 1 and weeks["2026-11-02"]["not_helpful"] == 0
    assert data["unanswered_questions"] == [
        {"question": "how do i book leave?", "asks": 2, "bad": 2, "no_answer": 1, "negative_feedback": 1},
        {
            "question": "expense policy <script>alert(1)</script>",
            "asks": 1,
            "bad": 1,
            "no_answer": 1,
            "negative_feedback": 0,
        },
    ]
    assert data["latency_per_day"] == [
        {"day": "2026-10-20", "queries": 2, "p50": 200.0, "p95": 290.0},
        {"day": "2026-10-21", "queries": 1, "p50": 50.0, "p95": 50.0},
        {"day": "2026-11-03", "queries": 2, "p50": 300.0, "p95": 390.0},
    ]
    assert [(p["title"], p["quality"], p["overdue_days"]) for p in data["pages_needing_attention"]] == [
        ("Leave & holidays", 22.5, 0),
        ("Expenses", 48.0, 12),
        ("VPN <setup>", 55.0, 40),
    ]
    assert data["owner_backlog"] == [
        {"owner": "ann", "pages": 2, "overdue_pages": 1},
        {"owner": "bob", "pages": 1, "overdue_pages": 1},
    ]
    assert checker.scripts == 1
    assert sorted(set(checker.hrefs)) == ["https://wiki/p1", "https://wiki/p3"]


def test_report_counts_signals_per_week_and_answers_nobody_followed_up(periods: list[Path]) -> None:
    data, _ = checked(render_report(periods, now=NOW, review_queue=REVIEW_QUEUE))

    weeks = {row["week"]: row for row in data["signals_by_week"]}
    assert weeks["2026-10-19"] == {
        "week": "2026-10-19",
        "follow_up": 0,
        "reaction_positive": 1,
        "no_follow_up": 2,
    }
    assert weeks["2026-11-02"] == {
        "week": "2026-11-02",
        "follow_up": 1,
        "reaction_positive": 0,
        "no_follow_up": 0,
    }


def test_report_shows_the_evaluation_trend_and_the_latest_alerts(periods: list[Path]) -> None:
    page = render_report(periods, now=NOW, review_queue=REVIEW_QUEUE)
    data, _ = checked(page)

    assert [(d["day"], d["groundedness"]) for d in data["evaluation_trend"]] == [
        ("2026-11-02", 0.82),
        ("2026-11-09", 0.61),
    ]
    assert "groundedness 0.61 under its target 0.70" in page


def test_report_lists_gaps_and_obsolete_pages_it_is_given(periods: list[Path]) -> None:
    gaps = [
        {
            "title": "Parking permits",
            "questions": 4,
            "samples": ["where do I park?"],
            "space_key": "HR",
            "owners": ["ann"],
        }
    ]
    obsolete = [
        {"title": "Old VPN", "url": "https://wiki/p9", "owner": "bob", "reasons": ["not updated in 800 days"]}
    ]

    page = render_report(periods, now=NOW, review_queue=REVIEW_QUEUE, gaps=gaps, obsolete=obsolete)

    data, _ = checked(page)
    assert data["gaps"] == gaps and data["obsolete_pages"] == obsolete
    assert "Parking permits" in page and "where do I park?" in page and "not updated in 800 days" in page


def test_report_escapes_text_from_the_data(periods: list[Path]) -> None:
    page = render_report(periods, now=NOW, review_queue=REVIEW_QUEUE)
    assert "<script>alert" not in page and "<setup>" not in page
    assert "expense policy &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Leave &amp; holidays" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_an_empty_report_still_renders() -> None:
    page = render_report([], now=NOW)
    data, _ = checked(page)
    assert page.count("No data yet.") == 11
    assert all(row["questions"] == 0 for row in data["questions_per_day"])
    assert data["answers"]["no_answer_rate"] is None
    for section in (
        "unanswered_questions",
        "latency_per_day",
        "pages_needing_attention",
        "owner_backlog",
        "evaluation_trend",
        "gaps",
        "obsolete_pages",
    ):
        assert data[section] == []


def test_report_renders_in_a_real_browser(periods: list[Path], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_report(periods, now=NOW, review_queue=REVIEW_QUEUE), encoding="utf-8")

    png = screenshot(page, height=2400)

    tall = [height for height in colour_bands(png, FIRST_SERIES) if height > CHART_ROWS]
    assert len(tall) >= 2, "the questions and answers charts drew no bars"
