"""The nightly evaluation (`common.evaluation.nightly`) wired from settings: the bot's own retriever and
writer answering as in a channel, the LLM judge when an LLM is configured (else the offline one), the
analytics files read like `kb report` reads them, and the admin channel for its alerts. It ingests nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from common.analytics.evaluation_inputs import AnalyticsEvaluationInputs
from common.answers.composer import compose_answer
from common.answers.extractive import split_sentences
from common.config import Settings
from common.evaluation.golden import load_golden_questions
from common.evaluation.judge import AnswerJudge, LlmJudge, OfflineJudge
from common.evaluation.nightly import AnswerRerun, GoldenRun, NightlyEvaluation, NightlySummary, Rerun
from common.permissions.access import EVERYONE_ACCESS
from common.runtime.ai import build_answer_writer, build_embedder, build_llm_client
from common.runtime.evaluation import build_answer_probe
from common.runtime.events import analytics_copies
from common.runtime.publishing import build_publisher
from common.runtime.quality import build_admin_channel
from common.runtime.search import build_retriever
from common.runtime.slack import build_channel_policy
from common.store.chunk_store import ChunkStore


def build_answer_judge(settings: Settings) -> AnswerJudge:
    """The LLM judge only when an LLM is configured; otherwise the offline one, on the embedding model."""
    if settings.llm_configured:
        return LlmJudge(build_llm_client(settings), model=settings.llm_model_name)
    return OfflineJudge(build_embedder(settings), sentences=split_sentences)


def build_answer_rerun(settings: Settings, store: ChunkStore) -> AnswerRerun:
    """As the bot answers in a channel: the channel ceiling, and only what everyone may read, so restricted
    pages never reach a judge (an LLM provider) or depend on whose question it was."""
    retriever = build_retriever(settings, store)
    writer = build_answer_writer(settings)
    ceiling = build_channel_policy(settings).ceiling("channel")

    def rerun(question: str) -> Rerun:
        composed = compose_answer(
            retriever=retriever,
            writer=writer,
            question=question,
            ceiling=ceiling,
            reader=EVERYONE_ACCESS.reader,
        )
        return Rerun(
            answer=composed.answer.text,
            passages=tuple(passage.text for passage in composed.passages),
            declined=not composed.found,
        )

    return rerun


def build_golden_run(settings: Settings, store: ChunkStore) -> GoldenRun | None:
    """None when GOLDEN_QUESTIONS is not set; a missing or malformed file raises `GoldenQuestionsError`."""
    if settings.golden_questions is None:
        return None
    return GoldenRun(
        path=settings.golden_questions,
        questions=tuple(load_golden_questions(settings.golden_questions)),
        probe=build_answer_probe(settings, store, EVERYONE_ACCESS.reader),
    )


def evaluated_as_of(eval_day: date | None, *, now: datetime) -> datetime:
    """The moment the evaluation runs as (it judges the UTC day before it): `now`, or with EVAL_DAY 04:00 UTC
    the morning after that day, so a missed day is re-run exactly as the job would have run it then."""
    if eval_day is None:
        return now
    return datetime.combine(eval_day + timedelta(days=1), time(4), UTC)


def run_nightly_evaluation(settings: Settings, store: ChunkStore, *, now: datetime) -> NightlySummary:
    """The `nightly_eval` job: the day before `now` (or EVAL_DAY), evaluated and reported."""
    admin = build_admin_channel(settings)  # first: a Slack setting missing fails before any work
    golden = build_golden_run(settings, store)
    targets = {
        "groundedness": settings.eval_target_groundedness,
        "relevance": settings.eval_target_relevance,
        "completeness": settings.eval_target_completeness,
        "golden_hit_at_3": settings.eval_target_golden_hit_at_3,
    }
    with analytics_copies(settings) as paths:
        evaluation = NightlyEvaluation(
            inputs=AnalyticsEvaluationInputs(paths),
            rerun=build_answer_rerun(settings, store),
            judge=build_answer_judge(settings),
            publisher=build_publisher(settings),
            targets=targets,
            max_weekly_drop=settings.eval_max_weekly_drop,
            sample_size=settings.eval_sample_size,
            admin=admin,
            golden=golden,
        )
        return evaluation.run(now=evaluated_as_of(settings.eval_day, now=now))
