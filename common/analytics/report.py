"""The analytics report: one self-contained HTML page that can be mailed, archived or opened offline.

Charts are inline SVG and the page's content security policy forbids every fetch, so it shows the same thing
anywhere, forever. All text from the data is escaped, and the numbers behind the page are embedded as JSON
(`#report-data`) for anyone who wants to check or reuse them. The markup is well-formed XML as well as HTML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from common.analytics.charts import bar_chart, line_chart
from common.analytics.report_data import report_data

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 760px; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid #eee; }
td.n, th.n { text-align: right; } .empty { color: #777; font-style: italic; } svg { max-width: 100%; }
"""
_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
_EMPTY = '<p class="empty">No data yet.</p>'


def render_report(
    paths: Sequence[Path],
    *,
    now: datetime,
    review_queue: Sequence[Mapping[str, Any]] = (),
    obsolete: Sequence[Mapping[str, Any]] = (),
    gaps: Sequence[Mapping[str, Any]] = (),
    days: int = 30,
) -> str:
    """The page for the `days` UTC days up to `now`; `review_queue` and `obsolete` rows carry page facts
    from Chroma, `gaps` the topics `kb gaps` finds (all already cleared for a shared page)."""
    data = report_data(paths, now=now, review_queue=review_queue, days=days, obsolete=obsolete, gaps=gaps)
    window = data["window"]
    sections = [
        _questions(data),
        _answers(data["answers"]),
        _feedback(data["feedback_by_week"]),
        _signals(data["signals_by_week"]),
        _unanswered(data["unanswered_questions"]),
        _gaps(data["gaps"]),
        _evaluation(data["evaluation_trend"]),
        _pages(data["pages_needing_attention"]),
        _obsolete(data["obsolete_pages"]),
        _backlog(data["owner_backlog"]),
        _latency(data),
    ]
    payload = json.dumps(data, ensure_ascii=False, indent=1)
    payload = payload.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/>'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}"/>'
        f"<title>Knowledge base analytics</title><style>{_CSS}</style></head><body>"
        "<h1>Knowledge base analytics</h1>"
        f"<p>{escape(window['start'])} to {escape(window['end'])} (UTC),"
        f" generated {escape(data['generated_at'])}.</p>{''.join(sections)}"
        f'<script type="application/json" id="report-data">{payload}</script></body></html>\n'
    )


def _questions(data: Mapping[str, Any]) -> str:
    days = data["questions_per_day"]
    if not any(day["questions"] for day in days):
        return _section("Questions per day", _EMPTY)
    chart = bar_chart(
        [day["day"][5:] for day in days],
        {"questions": [day["questions"] for day in days]},
        title="Questions per day",
    )
    return _section("Questions per day", chart)


def _answers(answers: Mapping[str, Any]) -> str:
    if answers["no_answer_rate"] is None:
        return _section("Answered and unanswered", _EMPTY)
    days = answers["per_day"]
    chart = bar_chart(
        [day["day"][5:] for day in days],
        {"answered": [day["answered"] for day in days], "no answer": [day["no_answer"] for day in days]},
        title="Answers per day",
    )
    summary = (
        f"<p>{answers['answered']} answered, {answers['no_answer']} without an answer"
        f" ({answers['no_answer_rate']:.1%} no-answer rate).</p>"
    )
    return _section("Answered and unanswered", summary + chart)


def _feedback(weeks: Sequence[Mapping[str, Any]]) -> str:
    votes = [vote for vote in weeks[0] if vote != "week"] if weeks else []
    if not any(week[vote] for week in weeks for vote in votes):
        return _section("Feedback by week", _EMPTY)
    series = {vote.replace("_", " "): [week[vote] for week in weeks] for vote in votes}
    chart = bar_chart([f"w/c {week['week'][5:]}" for week in weeks], series, title="Votes by week")
    return _section("Feedback by week", chart)


def _signals(weeks: Sequence[Mapping[str, Any]]) -> str:
    """What people did around answers, per week; "no follow-up" is derived from the other signals."""
    names = [name for name in weeks[0] if name != "week"] if weeks else []
    if not any(week[name] for week in weeks for name in names):
        return _section("Behavioural signals by week", _EMPTY)
    series = {name.replace("_", " "): [week[name] for week in weeks] for name in names}
    chart = bar_chart([f"w/c {week['week'][5:]}" for week in weeks], series, title="Signals by week")
    return _section("Behavioural signals by week", chart)


def _gaps(rows: Sequence[Mapping[str, Any]]) -> str:
    table = _table(
        ["Suggested page", "#Questions", "Asked, for example", "Nearest space", "Owners"],
        [
            [
                escape(str(r["title"])),
                _n(int(r["questions"])),
                "<br/>".join(escape(str(q)) for q in r["samples"]) or "(asked only in direct messages)",
                escape(str(r["space_key"] or "-")),
                escape(", ".join(r["owners"]) or "-"),
            ]
            for r in rows
        ],
    )
    return _section("Gaps: what people ask that the knowledge base cannot answer", table)


def _evaluation(days: Sequence[Mapping[str, Any]]) -> str:
    if not days:
        return _section("Answer quality (nightly evaluation)", _EMPTY)
    names = ("groundedness", "relevance", "completeness", "golden_hit_at_3")
    series = {name.replace("_", " "): [day[name] for day in days] for name in names}
    chart = line_chart([day["day"][5:] for day in days], series, title="Nightly evaluation (0 to 1)")
    alerts = days[-1]["alerts"]
    note = (
        "<p>Latest alerts: " + "; ".join(escape(a) for a in alerts) + "</p>"
        if alerts
        else "<p>The latest run met every target.</p>"
    )
    return _section("Answer quality (nightly evaluation)", chart + note)


def _obsolete(rows: Sequence[Mapping[str, Any]]) -> str:
    table = _table(
        ["Page", "Owner", "Why"],
        [[_link(r["title"], r["url"]), escape(r["owner"]), escape("; ".join(r["reasons"]))] for r in rows],
    )
    return _section("Possibly obsolete pages", table)


def _unanswered(rows: Sequence[Mapping[str, Any]]) -> str:
    table = _table(
        ["Question", "#Asked", "#No answer", "#Negative votes"],
        [
            [escape(r["question"]), _n(r["asks"]), _n(r["no_answer"]), _n(r["negative_feedback"])]
            for r in rows
        ],
    )
    return _section("Most-asked questions without a good answer", table)


def _pages(rows: Sequence[Mapping[str, Any]]) -> str:
    table = _table(
        ["Page", "Owner", "#Quality", "#Days overdue"],
        [
            [_link(r["title"], r["url"]), escape(r["owner"]), _n(r["quality"]), _n(r["overdue_days"])]
            for r in rows
        ],
    )
    return _section("Pages needing attention (low quality or overdue)", table)


def _backlog(rows: Sequence[Mapping[str, Any]]) -> str:
    table = _table(
        ["Owner", "#Pages to review", "#Overdue"],
        [[escape(r["owner"] or "(no owner)"), _n(r["pages"]), _n(r["overdue_pages"])] for r in rows],
    )
    return _section("Owner review backlog", table)


def _latency(data: Mapping[str, Any]) -> str:
    if not data["latency_per_day"]:
        return _section("Search latency (ms)", _EMPTY)
    by_day = {row["day"]: row for row in data["latency_per_day"]}
    days = [day["day"] for day in data["questions_per_day"]]
    series = {name: [by_day[day][name] if day in by_day else None for day in days] for name in ("p50", "p95")}
    chart = line_chart([day[5:] for day in days], series, title="Search latency per day (ms)")
    return _section("Search latency (ms)", chart)


def _section(title: str, body: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{body}</section>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table of already-escaped cells; a header starting with # marks a numeric, right-aligned column."""
    if not rows:
        return _EMPTY
    numeric = [header.startswith("#") for header in headers]
    head = "".join(
        f'<th class="n">{escape(h[1:])}</th>' if n else f"<th>{escape(h)}</th>"
        for h, n in zip(headers, numeric, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{c}</td>' if n else f"<td>{c}</td>" for c, n in zip(row, numeric, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _link(text: str, url: str) -> str:
    """Only web links become anchors, so a `javascript:` URL in page metadata stays inert text."""
    if url.startswith(("https://", "http://")):
        return f'<a href="{escape(url)}">{escape(text)}</a>'
    return escape(text)


def _n(value: float) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)
