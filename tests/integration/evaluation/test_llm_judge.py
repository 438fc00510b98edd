"""The LLM judge against an HTTP stand-in speaking the chat-completions wire format: its reply must be three
numbers in [0, 1], and anything else is refused rather than clipped or defaulted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from common.config import load_settings
from common.errors import LlmError
from common.evaluation.judge import Judgement, LlmJudge, OfflineJudge
from common.runtime.nightly import build_answer_judge
from tests.support.llm_standin import LlmStandin, Scripted

QUESTION = "How long does a VPN session last?"
PASSAGES = ("Sessions last 12 hours; after that you sign in with Okta again.", "GlobalProtect is our VPN.")
ANSWER = "Sessions last 12 hours [1]."


@pytest.fixture
def llm() -> Iterator[LlmStandin]:
    with LlmStandin() as standin:
        yield standin


def _judge(llm: LlmStandin) -> LlmJudge:
    judge = build_answer_judge(load_settings(llm_api_url=llm.url, llm_api_key="k", llm_model="judge-model"))
    assert isinstance(judge, LlmJudge)
    return judge


def _judged(llm: LlmStandin, reply: dict[str, Any]) -> Judgement:
    llm.reply_json(reply)
    return _judge(llm).judge(question=QUESTION, answer=ANSWER, passages=PASSAGES)


def test_without_an_llm_the_judge_is_the_offline_one() -> None:
    assert isinstance(build_answer_judge(load_settings()), OfflineJudge)


def test_a_reply_of_three_scores_is_the_judgement(llm: LlmStandin) -> None:
    judgement = _judged(llm, {"groundedness": 1, "relevance": 0.5, "completeness": 0.75})

    assert judgement == Judgement(groundedness=1.0, relevance=0.5, completeness=0.75)
    assert _judge(llm).name == "llm:judge-model"


def test_the_judge_reads_the_question_the_numbered_passages_and_the_answer(llm: LlmStandin) -> None:
    _judged(llm, {"groundedness": 1, "relevance": 1, "completeness": 1})

    [request] = llm.requests
    prompt = request["messages"][1]["content"]
    assert QUESTION in prompt and f"[1] {PASSAGES[0]}" in prompt and f"[2] {PASSAGES[1]}" in prompt
    assert prompt.endswith(ANSWER)
    assert request["response_format"] == {"type": "json_object"}


def test_a_reason_beside_the_scores_is_ignored(llm: LlmStandin) -> None:
    judgement = _judged(
        llm, {"groundedness": 0.9, "relevance": 0.8, "completeness": 0.7, "reason": "mostly supported"}
    )

    assert judgement == Judgement(groundedness=0.9, relevance=0.8, completeness=0.7)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ({"groundedness": 0.9, "relevance": 0.8}, "no number for 'completeness'"),
        ({"groundedness": "0.9", "relevance": 0.8, "completeness": 0.7}, "no number for 'groundedness'"),
        ({"groundedness": True, "relevance": 0.8, "completeness": 0.7}, "no number for 'groundedness'"),
        ({"groundedness": 0.9, "relevance": None, "completeness": 0.7}, "no number for 'relevance'"),
        ({"groundedness": 0.9, "relevance": 1.2, "completeness": 0.7}, "'relevance' 1.2, outside 0 to 1"),
        (
            {"groundedness": -0.1, "relevance": 0.8, "completeness": 0.7},
            "'groundedness' -0.1, outside 0 to 1",
        ),
    ],
)
def test_a_reply_without_three_scores_in_range_is_refused(
    llm: LlmStandin, reply: dict[str, Any], message: str
) -> None:
    with pytest.raises(LlmError, match=message):
        _judged(llm, reply)


def test_a_score_that_is_not_a_finite_number_is_refused(llm: LlmStandin) -> None:
    llm.reply(Scripted(content='{"groundedness": NaN, "relevance": 0.8, "completeness": 0.7}'))

    with pytest.raises(LlmError, match="'groundedness' nan, outside 0 to 1"):
        _judge(llm).judge(question=QUESTION, answer=ANSWER, passages=PASSAGES)
