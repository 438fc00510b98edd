"""The LLM writer streaming its answer, against a stand-in speaking the chat-completions SSE wire format:
what it shows while writing is always the start of the answer it returns, checked exactly as a whole
answer is; failures part-way are raised after what was shown, never passed off as a whole answer."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from common.ai.llm import OpenAiCompatibleClient
from common.answers.llm_writer import LlmAnswerWriter
from common.answers.writer import Answer, Passage
from common.config import load_settings
from common.errors import LlmError, LlmUnavailable
from common.runtime.ai import build_llm_answer_writer
from tests.support.llm_standin import LlmStandin, Scripted

PASSAGES = (
    Passage(
        number=1,
        text="Open GlobalProtect, use the portal vpn.larkspur.example and sign in with Okta.",
        title="IT FAQ",
        url="https://larkspur.example/wiki/spaces/HB/pages/1107/IT+FAQ",
        chunk_ids=("1107-a",),
    ),
    Passage(
        number=2,
        text="Sessions last 12 hours; after that you are asked to sign in with Okta again.",
        title="VPN Setup",
        url="https://larkspur.example/wiki/spaces/HB/pages/1101/VPN+Setup",
        chunk_ids=("1101-b",),
    ),
)
QUESTION = "How long does a VPN session last?"
ANSWER = "Sessions last 12 hours [2], then you sign in with Okta again [2][1]."
REPLY = {"grounded": True, "answer": ANSWER, "cited": [2, 1]}


@pytest.fixture
def llm() -> Iterator[LlmStandin]:
    with LlmStandin() as standin:
        yield standin


@pytest.fixture
def writer(llm: LlmStandin) -> LlmAnswerWriter:
    return build_llm_answer_writer(load_settings(llm_api_url=llm.url, llm_api_key="k", llm_model="m"))


def _streamed(writer: LlmAnswerWriter) -> tuple[Answer, list[str]]:
    shown: list[str] = []
    answer = writer.write_streaming(question=QUESTION, passages=PASSAGES, on_text=shown.append)
    return answer, shown


def test_the_answer_is_shown_piece_by_piece_and_is_the_answer_a_whole_reply_gives(
    llm: LlmStandin, writer: LlmAnswerWriter
) -> None:
    llm.reply_stream(REPLY, piece_chars=5)
    llm.reply_json(REPLY)

    answer, shown = _streamed(writer)

    assert len(shown) > 5 and "".join(shown) == ANSWER
    assert answer == writer.write(question=QUESTION, passages=PASSAGES)
    assert llm.requests[0]["stream"] is True and "stream" not in llm.requests[1]


def test_a_citation_marker_is_never_shown_before_it_is_closed(
    llm: LlmStandin, writer: LlmAnswerWriter
) -> None:
    llm.reply_stream({"grounded": True, "answer": "Twelve hours [1, 2].", "cited": [1, 2]}, piece_chars=1)

    answer, shown = _streamed(writer)

    assert all(piece.count("[") == piece.count("]") for piece in shown)
    assert "".join(shown) == answer.text == "Twelve hours [1][2]."


def test_citations_of_passages_that_do_not_exist_never_reach_the_reader(
    llm: LlmStandin, writer: LlmAnswerWriter
) -> None:
    llm.reply_stream(
        {"grounded": True, "answer": "Sessions last 12 hours [2][7], always [9].", "cited": [2, 7, 9]},
        piece_chars=3,
    )

    answer, shown = _streamed(writer)

    assert "".join(shown) == answer.text == "Sessions last 12 hours [2], always."


def test_passages_cited_but_never_marked_are_marked_after_what_was_shown(
    llm: LlmStandin, writer: LlmAnswerWriter
) -> None:
    llm.reply_stream({"grounded": True, "answer": "Twelve hours [2].", "cited": [2, 1]})

    answer, shown = _streamed(writer)

    assert "".join(shown) == "Twelve hours [2]."
    assert (answer.text, answer.cited) == ("Twelve hours [2]. [1]", (2, 1))


def test_a_decline_is_not_shown_while_it_is_written(llm: LlmStandin, writer: LlmAnswerWriter) -> None:
    llm.reply_stream({"grounded": False, "answer": "The passages do not say who won.", "cited": []})

    answer, shown = _streamed(writer)

    assert shown == [] and not answer.grounded


def test_a_stream_cut_off_part_way_raises_after_what_was_shown(
    llm: LlmStandin, writer: LlmAnswerWriter
) -> None:
    llm.reply(Scripted(content=json.dumps(REPLY), piece_chars=5, cut_after=8))

    shown: list[str] = []
    with pytest.raises(LlmUnavailable, match="ended its stream before finishing"):
        writer.write_streaming(question=QUESTION, passages=PASSAGES, on_text=shown.append)
    assert "".join(shown) and ANSWER.startswith("".join(shown))
    assert len(llm.requests) == 1


def test_a_finished_reply_that_fails_the_checks_is_refused_after_what_was_shown(
    llm: LlmStandin, writer: LlmAnswerWriter
) -> None:
    llm.reply_stream({"grounded": True, "answer": "Sessions last 12 hours, trust me.", "cited": []})

    shown: list[str] = []
    with pytest.raises(LlmError, match="cites none of the passages"):
        writer.write_streaming(question=QUESTION, passages=PASSAGES, on_text=shown.append)
    assert "".join(shown) == "Sessions last 12 hours, trust me."


def test_a_streamed_reply_that_is_not_json_is_an_error(llm: LlmStandin, writer: LlmAnswerWriter) -> None:
    llm.reply(Scripted(content="Sessions last 12 hours [2]."))

    with pytest.raises(LlmError, match="not JSON"):
        _streamed(writer)


def test_a_rate_limit_before_the_stream_opens_is_waited_out(llm: LlmStandin, writer: LlmAnswerWriter) -> None:
    llm.reply(Scripted(status=429, retry_after=0))
    llm.reply_stream(REPLY)

    answer, shown = _streamed(writer)

    assert answer.text == ANSWER and "".join(shown) == ANSWER and len(llm.requests) == 2


def test_server_errors_that_do_not_stop_are_reported_as_unavailable(llm: LlmStandin) -> None:
    client = OpenAiCompatibleClient(
        base_url=llm.url, api_key=None, model="m", timeout_seconds=5, max_attempts=2
    )
    for _ in range(2):
        llm.reply(Scripted(status=503))

    with pytest.raises(LlmUnavailable, match="kept failing after 2 attempts"):
        _streamed(LlmAnswerWriter(client, model="m"))
