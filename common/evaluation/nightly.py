"""The nightly evaluation: yesterday's answered questions asked again, the new answers judged, a report with
its alerts, and one message to the knowledge admins when something fell.

1. Sample the questions answered on the UTC day before the run, deterministically by that day: a retried run
   judges the same questions.
2. Re-run each as the bot would answer it now and judge the answer against its passages (`AnswerJudge`). A
   question the bot now declines is counted (`declined`) and published with no scores: a decline is not an
   answer, so it is neither grounded nor ungrounded, and averaging it in would reward declining.
3. Run the golden questions too, when a file is configured.
4. Publish one `EvalResult` per question (dataset `nightly`, mode `answer`) and one `QualityReport`
   (`evaluation`) whose alerts name every metric under its target or down more than the allowed share since
   the evaluation report published a week before the run.
5. Post the alerts to the admin channel once per evaluated day, so a re-run does not post again.

Event ids are derived from the evaluated day, so a re-run's events are dropped as duplicates when they are
ingested: the first complete run of a day is its record.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol

from common.errors import KbError, ServiceUnavailable
from common.evaluation.golden import AnswerProbe, GoldenQuestion, golden_event, score_golden
from common.evaluation.judge import AnswerJudge
from common.events.model import EvalResult, Event, QualityReport
from common.events.publishers import EventPublisher
from common.logs import get_logger

log = get_logger(__name__)

DATASET = "nightly"
MODE = "answer"
REPORT = "evaluation"
METRICS = ("groundedness", "relevance", "completeness", "golden_hit_at_3")
"""The report's metrics, by their `QualityReport` field (and DuckDB column) names."""
LABELS = {"golden_hit_at_3": "golden hit@3"}
WEEK = timedelta(days=7)

Scores = Mapping[str, float | None]
"""A value per name in METRICS; None when nothing measured it."""


@dataclass(frozen=True, slots=True)
class Rerun:
    answer: str
    """The text the bot would post now, citations included."""
    passages: tuple[str, ...]
    """What it was written from, in citation order."""
    declined: bool


class AnswerRerun(Protocol):
    def __call__(self, question: str) -> Rerun:
        """Answer `question` exactly as the bot would now, recording nothing as read."""
        ...


class AskedQuestion(Protocol):
    @property
    def question_id(self) -> str: ...

    @property
    def question(self) -> str: ...


class EvaluationInputs(Protocol):
    """What the analytics files say (`common.analytics.evaluation_inputs`)."""

    def answered_between(self, start: datetime, end: datetime) -> Sequence[AskedQuestion]:
        """Questions asked in [start, end) that the bot answered (or declined), each once."""
        ...

    def evaluation_published_between(self, start: datetime, end: datetime) -> Scores | None:
        """The scores of the last evaluation report published in [start, end); None when there was none."""
        ...


class AdminPoster(Protocol):
    def post_once(self, key: str, *, text: str) -> str | None:
        """Post unless a message for `key` was posted; None when it was a duplicate."""
        ...


@dataclass(frozen=True, slots=True)
class GoldenRun:
    path: Path
    questions: tuple[GoldenQuestion, ...]
    probe: AnswerProbe


@dataclass(frozen=True, slots=True)
class NightlySummary:
    day: date
    answered: int
    """Questions answered (or declined) that day."""
    sampled: int
    judged: int
    declined: int
    failed: int
    """Questions whose re-run or judgement failed; logged one by one, and the job exits 1."""
    scores: Scores
    alerts: tuple[str, ...]
    posted: bool
    """Whether this run posted the alerts (False when there were none, or a run had posted them)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "day": self.day.isoformat(),
            "answered": self.answered,
            "sampled": self.sampled,
            "judged": self.judged,
            "declined": self.declined,
            "failed": self.failed,
            **self.scores,
            "alerts": list(self.alerts),
            "posted": self.posted,
        }


class NightlyEvaluation:
    def __init__(
        self,
        *,
        inputs: EvaluationInputs,
        rerun: AnswerRerun,
        judge: AnswerJudge,
        publisher: EventPublisher,
        targets: Mapping[str, float],
        max_weekly_drop: float,
        sample_size: int,
        admin: AdminPoster | None,
        golden: GoldenRun | None = None,
    ) -> None:
        """`targets` holds a minimum per name in METRICS; `admin` is None when no admin channel is set, and
        the alerts are then only logged and reported."""
        self._inputs = inputs
        self._rerun = rerun
        self._judge = judge
        self._publisher = publisher
        self._targets = targets
        self._max_weekly_drop = max_weekly_drop
        self._sample_size = sample_size
        self._admin = admin
        self._golden = golden

    def run(self, *, now: datetime) -> NightlySummary:
        """Evaluate the UTC day before `now`. Stops at the first `ServiceUnavailable` (every later question
        would fail the same way); other failures skip their question and are counted."""
        today = now.astimezone(UTC).date()
        day = today - timedelta(days=1)
        start = datetime.combine(day, time(), UTC)
        answered = self._inputs.answered_between(start, start + timedelta(days=1))
        sample = sample_questions(answered, day=day, size=self._sample_size)
        results: list[EvalResult] = []
        for question in sample:
            result = self._evaluated(question, day=day)
            if result is not None:
                results.append(result)
        judged = [r for r in results if not r.declined]
        events: list[Event] = [*results]
        golden_hit = None
        if self._golden is not None:
            golden = score_golden(self._golden.questions, self._golden.probe)
            event = golden_event(golden, path=self._golden.path, run_id=_run_id(day))
            events.append(replace(event, event_id=_event_id(day, f"golden:{self._golden.path.name}")))
            golden_hit = golden.hit_at_3
        scores: dict[str, float | None] = {
            "groundedness": _mean([r.groundedness for r in judged]),
            "relevance": _mean([r.relevance for r in judged]),
            "completeness": _mean([r.completeness for r in judged]),
            "golden_hit_at_3": golden_hit,
        }
        week_before = datetime.combine(today - WEEK, time(), UTC)
        earlier = self._inputs.evaluation_published_between(week_before, week_before + timedelta(days=1))
        alerts = alerts_for(scores, earlier, targets=self._targets, max_weekly_drop=self._max_weekly_drop)
        events.append(
            QualityReport(
                event_id=_event_id(day, "report"),
                report=REPORT,
                answers_evaluated=len(judged),
                groundedness=scores["groundedness"],
                relevance=scores["relevance"],
                completeness=scores["completeness"],
                golden_hit_at_3=golden_hit,
                alerts=alerts,
            )
        )
        self._publisher.publish(events)
        summary = NightlySummary(
            day=day,
            answered=len(answered),
            sampled=len(sample),
            judged=len(judged),
            declined=len(results) - len(judged),
            failed=len(sample) - len(results),
            scores=scores,
            alerts=tuple(alerts),
            posted=False,
        )
        return replace(summary, posted=self._post(summary))

    def _evaluated(self, question: AskedQuestion, *, day: date) -> EvalResult | None:
        result = EvalResult(
            event_id=_event_id(day, question.question_id),
            run_id=_run_id(day),
            dataset=DATASET,
            mode=MODE,
            queries=1,
            question_id=question.question_id,
        )
        try:
            rerun = self._rerun(question.question)
            if rerun.declined:
                return replace(result, declined=1.0)
            judgement = self._judge.judge(
                question=question.question, answer=rerun.answer, passages=rerun.passages
            )
        except ServiceUnavailable:
            raise
        except KbError as exc:
            log.error(
                "nightly_question_failed",
                question_id=question.question_id,
                error=str(exc),
                error_type=type(exc).__name__,
            )
            return None
        return replace(
            result,
            declined=0.0,
            groundedness=judgement.groundedness,
            relevance=judgement.relevance,
            completeness=judgement.completeness,
            judge=self._judge.name,
        )

    def _post(self, summary: NightlySummary) -> bool:
        if not summary.alerts:
            return False
        if self._admin is None:
            log.warning(
                "evaluation_alerts_not_posted",
                reason="KNOWLEDGE_ADMIN_CHANNEL is not set",
                alerts=list(summary.alerts),
            )
            return False
        return (
            self._admin.post_once(f"evaluation:{summary.day.isoformat()}", text=alert_text(summary))
            is not None
        )


def sample_questions(questions: Sequence[AskedQuestion], *, day: date, size: int) -> list[AskedQuestion]:
    """The same `size` questions for the same day on every run, spread over the day rather than its first
    hours: ordered by a hash of the day and the question id."""

    def rank(question: AskedQuestion) -> str:
        return hashlib.sha256(f"{day.isoformat()}\x1f{question.question_id}".encode()).hexdigest()

    return sorted(questions, key=rank)[:size]


def alerts_for(
    scores: Scores, earlier: Scores | None, *, targets: Mapping[str, float], max_weekly_drop: float
) -> list[str]:
    """One sentence per metric under its target, and per metric that fell by more than `max_weekly_drop` (a
    share of its value a week before). A metric nothing measured raises no alert: its absence is reported."""
    alerts: list[str] = []
    for name in METRICS:
        value = scores[name]
        if value is None:
            continue
        label = LABELS.get(name, name)
        if value < targets[name]:
            alerts.append(f"{label} is {value:.2f}, under its target {targets[name]:.2f}")
        before = earlier.get(name) if earlier is not None else None
        if before is not None and before > 0 and (before - value) / before > max_weekly_drop:
            alerts.append(
                f"{label} fell {(before - value) / before:.0%} week on week ({before:.2f} to {value:.2f})"
            )
    return alerts


def alert_text(summary: NightlySummary) -> str:
    lines = "\n".join(f"• {alert}" for alert in summary.alerts)
    return (
        f"*Nightly evaluation of {summary.day.isoformat()}*: {summary.judged} answers judged, "
        f"{summary.declined} declined.\n{lines}"
    )


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 4) if present else None


def _run_id(day: date) -> str:
    return f"nightly-{day.isoformat()}"


def _event_id(day: date, what: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"kb:nightly-evaluation:{day.isoformat()}:{what}").hex
