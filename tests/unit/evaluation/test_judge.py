"""The offline judge with the real bundled model: answers copied from their passages are grounded, invented
ones are not, and passages about another topic are not relevant."""

from __future__ import annotations

import pytest

from common.ai.embeddings import get_embedder
from common.answers.extractive import split_sentences
from common.evaluation.judge import OfflineJudge

QUESTION = "How do I connect to the VPN from home?"
VPN_PASSAGES = (
    "Open GlobalProtect on your Larkspur laptop, enter the portal address vpn.larkspur.example, click "
    "Connect, sign in with your Okta username and password, and approve the Okta Verify push on your phone. "
    "The globe icon turns solid when you are connected.",
    "Sessions last 12 hours; after that you are asked to sign in with Okta again. The VPN only works on "
    "Larkspur-managed laptops.",
)
PRINTER_PASSAGES = (
    "We use PaperCut follow-me printing. You print to a single queue, Larkspur-Print, and collect the job at "
    "any printer by tapping your badge. Jobs are deleted after 24 hours.",
    "If your laptop will not join Larkspur-Corp, its certificate has probably expired: open Self Service and "
    "run Renew Wi-Fi certificate.",
)
COPIED_ANSWER = (
    "Open GlobalProtect on your Larkspur laptop, enter the portal address vpn.larkspur.example, click "
    "Connect, sign in with your Okta username and password, and approve the Okta Verify push on your "
    "phone. [1]\n"
    "• Sessions last 12 hours; after that you are asked to sign in with Okta again. [2]"
)
INVENTED_ANSWER = (
    "Email the facilities team to request a parking badge for the Denver garage [1]. Parking costs 40 "
    "dollars a month and is taken from your salary [2]."
)


@pytest.fixture(scope="module")
def judge() -> OfflineJudge:
    return OfflineJudge(get_embedder(None, "cpu", 32), sentences=split_sentences)


def test_an_answer_copied_from_its_passages_is_grounded(judge: OfflineJudge) -> None:
    judgement = judge.judge(question=QUESTION, answer=COPIED_ANSWER, passages=VPN_PASSAGES)

    assert judgement.groundedness == 1.0


def test_an_invented_answer_is_not_grounded(judge: OfflineJudge) -> None:
    judgement = judge.judge(question=QUESTION, answer=INVENTED_ANSWER, passages=VPN_PASSAGES)

    assert judgement.groundedness < 0.2


def test_one_invented_sentence_costs_its_share_of_groundedness(judge: OfflineJudge) -> None:
    mixed = COPIED_ANSWER + "\nParking costs 40 dollars a month and is taken from your salary. [2]"

    judgement = judge.judge(question=QUESTION, answer=mixed, passages=VPN_PASSAGES)

    assert 0.5 < judgement.groundedness < 0.8


def test_passages_about_the_question_are_relevant(judge: OfflineJudge) -> None:
    judgement = judge.judge(question=QUESTION, answer=COPIED_ANSWER, passages=VPN_PASSAGES)

    assert judgement.relevance > 0.7


def test_passages_about_another_topic_are_not_relevant(judge: OfflineJudge) -> None:
    judgement = judge.judge(question=QUESTION, answer=COPIED_ANSWER, passages=PRINTER_PASSAGES)

    assert judgement.relevance < 0.2


def test_an_answer_to_the_question_is_complete(judge: OfflineJudge) -> None:
    judgement = judge.judge(question=QUESTION, answer=COPIED_ANSWER, passages=VPN_PASSAGES)

    assert judgement.completeness > 0.5


def test_an_answer_about_something_else_does_not_complete_the_question(judge: OfflineJudge) -> None:
    judgement = judge.judge(question=QUESTION, answer=INVENTED_ANSWER, passages=VPN_PASSAGES)

    assert judgement.completeness < 0.2


def test_an_answer_that_states_nothing_is_neither_grounded_nor_complete(judge: OfflineJudge) -> None:
    judgement = judge.judge(question=QUESTION, answer="[1] [2]", passages=VPN_PASSAGES)

    assert (judgement.groundedness, judgement.completeness) == (0.0, 0.0)
