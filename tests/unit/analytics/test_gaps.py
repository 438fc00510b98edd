"""Gap topics from badly answered questions, with the real embedding model (over an empty store, so no space
comes close): what groups, what stands alone, what a topic is called, and what it never quotes."""

from __future__ import annotations

import pytest

from common.analytics.gap_questions import BadQuestion, GapReason
from common.analytics.gaps import GapAnalysis, GapTopic
from common.config import load_settings
from common.runtime.gaps import build_gap_analysis
from common.runtime.store import build_store

VPN = (
    "How do I connect to the VPN from home?",
    "The VPN keeps disconnecting when I work remotely",
    "I can't get the VPN to connect on my laptop",
)
PARENTAL_LEAVE = (
    "How much parental leave do I get?",
    "What is the parental leave policy for new fathers?",
    "How many weeks of paternity leave can I take?",
)
EXPENSES = (
    "How do I submit expense reports as a contractor?",
    "Can contractors file expense reports?",
    "Expense report process for contractors",
)


@pytest.fixture
def analysis() -> GapAnalysis:
    settings = load_settings()
    return build_gap_analysis(settings, build_store(settings))


def _asked(
    *texts: str, channel_type: str = "channel", why: tuple[GapReason, ...] = ("declined",)
) -> list[BadQuestion]:
    return [
        BadQuestion(f"{channel_type}-{n}-{text}", text, channel_type, why) for n, text in enumerate(texts)
    ]


def _topic_of(topics: list[GapTopic], text: str) -> GapTopic:
    [topic] = [topic for topic in topics if text in topic.samples]
    return topic


def test_three_phrasings_of_each_of_two_questions_make_two_topics(analysis: GapAnalysis) -> None:
    topics = analysis.topics(
        _asked(VPN[0], PARENTAL_LEAVE[0], VPN[1], PARENTAL_LEAVE[1], VPN[2], PARENTAL_LEAVE[2])
    )

    assert {frozenset(topic.samples) for topic in topics} == {frozenset(VPN), frozenset(PARENTAL_LEAVE)}
    assert [topic.size for topic in topics] == [3, 3]


def test_questions_that_stand_alone_make_no_topic(analysis: GapAnalysis) -> None:
    assert (
        analysis.topics(_asked("Where can I park at the office?", "What is the guest Wi-Fi password?")) == []
    )


def test_a_topic_needs_as_many_questions_as_configured(analysis: GapAnalysis) -> None:
    assert analysis.topics(_asked(*VPN[:2])) == []


def test_the_same_question_asked_by_three_people_is_a_topic(analysis: GapAnalysis) -> None:
    [topic] = analysis.topics(_asked(VPN[0], VPN[0], VPN[0]))

    assert topic.size == 3
    assert topic.samples == (VPN[0],)


def test_a_topic_is_titled_from_the_words_its_questions_share(analysis: GapAnalysis) -> None:
    [topic] = analysis.topics(_asked(*EXPENSES))

    assert topic.title == "Expense reports as a contractor"


def test_a_topic_counts_each_reason_its_questions_were_bad_for(analysis: GapAnalysis) -> None:
    questions = [
        *_asked(EXPENSES[0], why=("declined",)),
        *_asked(EXPENSES[1], why=("negative_feedback", "frustration")),
        *_asked(EXPENSES[2], why=("frustration",)),
    ]

    [topic] = analysis.topics(questions)

    assert topic.reasons == {"declined": 1, "negative_feedback": 1, "frustration": 2}


def test_direct_messages_count_toward_a_topic_but_are_never_quoted(analysis: GapAnalysis) -> None:
    private = (
        "Can contractors file expense reports for my divorce lawyer?",
        "Expense reports for contractors on sick leave for depression",
    )
    questions = [*_asked(EXPENSES[1]), *_asked(*private, channel_type="im")]

    [topic] = analysis.topics(questions)

    assert (topic.size, topic.direct_messages, topic.samples) == (3, 2, (EXPENSES[1],))
    for word in ("divorce", "lawyer", "sick", "depression"):
        assert word not in topic.title.lower()


def test_a_topic_asked_only_in_direct_messages_is_titled_by_shared_words_alone(analysis: GapAnalysis) -> None:
    private = (
        "Can contractors file expense reports for my divorce lawyer?",
        "Expense reports for contractors on sick leave for depression",
        "How do contractors do expense reports while on probation?",
    )

    [topic] = analysis.topics(_asked(*private, channel_type="im"))

    assert topic.samples == ()
    assert topic.title == "Contractors expense reports"
