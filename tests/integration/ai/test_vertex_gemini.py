"""Gemini on Vertex AI through an HTTP stand-in of its generateContent and streamGenerateContent shapes:
the requests it sends, retries on 429 and 5xx (for a stream, only until it opens), and clear errors for
replies it cannot use, whole or streamed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from common.ai.vertex import VertexGeminiClient
from common.answers.writer import Answer, Passage
from common.config import load_settings
from common.errors import ConfigError, LlmError, LlmUnavailable
from common.runtime.ai import build_answer_writer, build_llm_client
from tests.support.vertex_standin import Step, VertexStandin

PASSAGES = (
    Passage(
        number=1, text="VPN sessions last 12 hours.", title="VPN Setup", url="https://w/1", chunk_ids=("c1",)
    ),
)


@pytest.fixture
def vertex() -> Iterator[VertexStandin]:
    with VertexStandin() as standin:
        yield standin


def _client(vertex: VertexStandin, **options: int) -> VertexGeminiClient:
    return VertexGeminiClient(
        base_url=vertex.url,
        project="kb-prod",
        location="europe-west1",
        model="gemini-2.5-flash",
        timeout_seconds=5,
        **options,
    )


def test_a_json_reply_comes_back_as_an_object_from_the_models_generate_content(vertex: VertexStandin) -> None:
    vertex.reply_json({"answer": "Twelve hours [1].", "cited": [1]})

    reply = _client(vertex).complete_json(system="Answer from the passages.", user="How long is a session?")

    assert reply == {"answer": "Twelve hours [1].", "cited": [1]}
    [request] = vertex.requests
    where = (request.project, request.location, request.model, request.method)
    assert where == ("kb-prod", "europe-west1", "gemini-2.5-flash", "generateContent")
    assert request.body["systemInstruction"] == {"parts": [{"text": "Answer from the passages."}]}
    assert request.body["contents"] == [{"role": "user", "parts": [{"text": "How long is a session?"}]}]
    assert request.body["generationConfig"]["responseMimeType"] == "application/json"


def test_a_429_is_waited_out_as_retry_after_asks(vertex: VertexStandin) -> None:
    vertex.reply(Step(status=429, retry_after=0))
    vertex.reply_json({"ok": True})

    assert _client(vertex).complete_json(system="s", user="u") == {"ok": True}
    assert len(vertex.requests) == 2


def test_server_errors_that_do_not_stop_are_reported_as_unavailable(vertex: VertexStandin) -> None:
    for _ in range(2):
        vertex.reply(Step(status=503))

    with pytest.raises(LlmUnavailable, match="kept failing after 2 attempts"):
        _client(vertex, max_attempts=2).complete_json(system="s", user="u")


def test_refused_credentials_say_which_role_the_service_account_needs(vertex: VertexStandin) -> None:
    vertex.reply(Step(status=403))

    with pytest.raises(LlmError, match=r"roles/aiplatform\.user"):
        _client(vertex).complete_json(system="s", user="u")


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        (Step(texts=("not json at all",)), "not JSON"),
        (Step(texts=("[1, 2]",)), "not an object"),
        (Step(texts=('{"answer": "x"}',), finish_reason="SAFETY"), "stopped its answer early"),
        (Step(raw={"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}), "PROHIBITED_CONTENT"),
        (Step(raw={"candidates": [{"content": {"parts": [{"functionCall": {}}]}}]}), "not text"),
    ],
)
def test_a_reply_that_cannot_be_used_is_an_error_saying_why(
    vertex: VertexStandin, step: Step, problem: str
) -> None:
    vertex.reply(step)

    with pytest.raises(LlmError, match=problem):
        _client(vertex).complete_json(system="s", user="u")


def test_a_streamed_reply_arrives_piece_by_piece(vertex: VertexStandin) -> None:
    vertex.reply(Step(texts=('{"grounded": true, ', '"answer": "Twelve hours [1].", ', '"cited": [1]}')))

    pieces = list(_client(vertex).stream_json(system="s", user="u"))

    assert pieces == ['{"grounded": true, ', '"answer": "Twelve hours [1].", ', '"cited": [1]}']
    [request] = vertex.requests
    assert request.method == "streamGenerateContent"
    assert request.body["generationConfig"]["responseMimeType"] == "application/json"


def test_a_429_before_a_stream_opens_is_waited_out(vertex: VertexStandin) -> None:
    vertex.reply(Step(status=429, retry_after=0))
    vertex.reply(Step(texts=('{"ok": true}',)))

    assert list(_client(vertex).stream_json(system="s", user="u")) == ['{"ok": true}']
    assert len(vertex.requests) == 2


def test_a_stream_that_ends_before_the_model_finished_is_unavailable_not_taken_whole(
    vertex: VertexStandin,
) -> None:
    vertex.reply(Step(texts=('{"answer": "Twelve', " hours"), finish_reason=None))
    pieces: list[str] = []

    with pytest.raises(LlmUnavailable, match="ended its stream before finishing"):
        pieces.extend(_client(vertex).stream_json(system="s", user="u"))
    assert pieces == ['{"answer": "Twelve', " hours"]
    assert len(vertex.requests) == 1  # text had arrived: never retried


def test_a_streamed_event_that_is_not_json_is_an_error_saying_so(vertex: VertexStandin) -> None:
    vertex.reply(Step(sse="data: {not json\r\n\r\n"))

    with pytest.raises(LlmError, match="streamed an event that is not JSON"):
        list(_client(vertex).stream_json(system="s", user="u"))


def test_llm_provider_vertex_makes_the_answer_writer_gemini(vertex: VertexStandin) -> None:
    settings = load_settings(llm_provider="vertex", gcp_project="kb-prod", vertex_api_url=vertex.url)
    vertex.reply_json({"answer": "Sessions last 12 hours [1].", "cited": [1], "grounded": True})

    answer = build_answer_writer(settings).write(
        question="How long does a VPN session last?", passages=PASSAGES
    )

    assert answer == Answer(
        text="Sessions last 12 hours [1].", cited=(1,), grounded=True, writer="llm:gemini-2.5-flash"
    )
    assert "Authorization" not in vertex.requests[0].headers  # a stand-in gets no credentials


def test_vertex_without_a_project_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="GCP_PROJECT"):
        build_llm_client(load_settings(llm_provider="vertex"))
