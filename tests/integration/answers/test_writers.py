"""Answer writers on real passages: the offline writer over the synced sample space with the bundled model,
the LLM writer against an HTTP stand-in speaking the chat-completions wire format."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from common.answers.extractive import MAX_ANSWER_CHARS, ExtractiveWriter, split_sentences
from common.answers.llm_writer import LlmAnswerWriter
from common.answers.writer import NOT_FOUND_TEXT, Answer, AnswerWriter, Passage
from common.config import SAMPLE_SPACE_DIR, Settings, load_settings
from common.confluence.folder_source import FolderPageSource
from common.errors import LlmError
from common.runtime.ai import build_answer_writer, build_embedder, build_llm_client
from common.runtime.search import build_retriever
from common.runtime.store import build_store
from common.search.filters import SearchFilters
from common.search.retriever import HybridRetriever
from common.store.access import EVERYONE
from tests.support.llm_standin import LlmStandin, Scripted
from tests.support.runs import run_sync

EVERYTHING = SearchFilters(max_classification="confidential")
VPN_QUESTION = "How do I connect to the VPN from home?"
QUESTIONS = (
    VPN_QUESTION,
    "How many weeks of parental leave do I get?",
    "What is the minimum password length?",
    "What is the deploy window on Fridays?",
    "vpn",
)
CITATION = re.compile(r"\[(\d+)\]")


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory) -> HybridRetriever:
    settings = load_settings(kb_home=tmp_path_factory.mktemp("answers") / "kb-home")
    run_sync(settings, source=FolderPageSource(SAMPLE_SPACE_DIR))
    return build_retriever(settings, build_store(settings))


@pytest.fixture(scope="module")
def offline() -> ExtractiveWriter:
    return ExtractiveWriter(build_embedder(load_settings()))


def _passages(retriever: HybridRetriever, question: str) -> list[Passage]:
    results = retriever.search(question, top_k=5, filters=EVERYTHING, reader=EVERYONE)
    return [
        Passage(number=n, text=r.text, title=r.page_title, url=r.url, chunk_ids=r.chunk_ids)
        for n, r in enumerate(results, start=1)
    ]


def _quoted(answer: Answer) -> list[tuple[str, int]]:
    """Each quoted piece of an answer with the passage number cited right after it."""
    return [
        (text.strip().removeprefix("• ").strip("`"), int(number))
        for line in answer.text.splitlines()
        for text, number in re.findall(r"(.+?) \[(\d+)\]", line)
    ]


def _is_whole(piece: str, passage_text: str) -> bool:
    """A whole line of the passage (list item, code), a whole sentence of one, or a table row with its
    column names."""
    lines = [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", line).strip() for line in passage_text.splitlines()]
    if piece in lines:
        return True
    rows = [line.split(" | ") for line in lines if " | " in line]
    if any(
        piece == "; ".join(f"{h}: {c}" for h, c in zip(head, row, strict=True))
        for head in rows
        for row in rows
        if len(head) == len(row)
    ):
        return True
    return piece[-1] in ".!?”" and any(
        re.search(rf"(^|[.!?”] ){re.escape(piece)}( |$)", line) for line in lines
    )


@pytest.mark.parametrize("question", QUESTIONS)
def test_answer_cites_only_the_passages_it_was_given(
    retriever: HybridRetriever, offline: ExtractiveWriter, question: str
) -> None:
    passages = _passages(retriever, question)

    answer = offline.write(question=question, passages=passages)

    markers = [int(n) for n in CITATION.findall(answer.text)]
    assert answer.grounded and markers
    assert set(markers) <= {p.number for p in passages}
    assert answer.cited == tuple(dict.fromkeys(markers))


def test_vpn_answer_quotes_the_portal_address_from_the_vpn_page(
    retriever: HybridRetriever, offline: ExtractiveWriter
) -> None:
    passages = _passages(retriever, VPN_QUESTION)

    answer = offline.write(question=VPN_QUESTION, passages=passages)

    sources = [passages[n - 1] for piece, n in _quoted(answer) if "vpn.larkspur.example" in piece]
    assert sources and all("vpn.larkspur.example" in p.text for p in sources)
    assert any(p.title == "VPN Setup" for p in sources)
    assert answer.writer == "offline"


@pytest.mark.parametrize("bound", [MAX_ANSWER_CHARS, 250])
def test_answers_never_exceed_the_character_bound(retriever: HybridRetriever, bound: int) -> None:
    writer = ExtractiveWriter(build_embedder(load_settings()), max_chars=bound)
    for question in QUESTIONS:
        answer = writer.write(question=question, passages=_passages(retriever, question))

        assert answer.grounded, question
        assert len(answer.text) <= bound, question


def test_an_unrelated_question_is_declined(retriever: HybridRetriever, offline: ExtractiveWriter) -> None:
    question = "What is the weather on Mars?"

    answer = offline.write(question=question, passages=_passages(retriever, question))

    assert answer == Answer(text=NOT_FOUND_TEXT, cited=(), grounded=False, writer="offline")


@pytest.mark.parametrize("bound", [MAX_ANSWER_CHARS, 300])
def test_no_quoted_sentence_is_cut_midway(retriever: HybridRetriever, bound: int) -> None:
    writer = ExtractiveWriter(build_embedder(load_settings()), max_chars=bound)
    for question in QUESTIONS:
        passages = _passages(retriever, question)

        answer = writer.write(question=question, passages=passages)

        for piece, number in _quoted(answer):
            assert _is_whole(piece, passages[number - 1].text), (question, piece)


def test_without_passages_the_offline_writer_declines(offline: ExtractiveWriter) -> None:
    answer = offline.write(question=VPN_QUESTION, passages=[])

    assert not answer.grounded and answer.cited == ()


def test_sentences_split_at_ends_but_not_after_abbreviations() -> None:
    text = "Ask a teammate, e.g. Priya. Ask Dr. Raman first! Then reconnect (see above). Version 6.2.x works."

    assert split_sentences(text) == [
        "Ask a teammate, e.g. Priya.",
        "Ask Dr. Raman first!",
        "Then reconnect (see above).",
        "Version 6.2.x works.",
    ]


# The LLM writer. Passages quote the sample space's VPN Setup and IT FAQ pages.

PASSAGES = (
    Passage(
        number=1,
        text="Open GlobalProtect, use the portal vpn.larkspur.example, sign in with Okta and approve the "
        "Okta Verify push.",
        title="IT FAQ",
        url="https://larkspur.example/wiki/spaces/HB/pages/1107/IT+FAQ",
        chunk_ids=("1107-a02ec2e4803213ed",),
    ),
    Passage(
        number=2,
        text="To disconnect, open GlobalProtect and click Disconnect. Sessions last 12 hours; after that you "
        "are asked to sign in with Okta again.",
        title="VPN Setup",
        url="https://larkspur.example/wiki/spaces/HB/pages/1101/VPN+Setup",
        chunk_ids=("1101-1bf9637fa61f659a",),
    ),
)
SESSION_QUESTION = "How long does a VPN session last?"
GOOD_ANSWER = "Sessions last 12 hours [2], then you sign in with Okta again [2]."
GOOD_REPLY = {"answer": GOOD_ANSWER, "cited": [2], "grounded": True}


@pytest.fixture
def llm() -> Iterator[LlmStandin]:
    with LlmStandin() as standin:
        yield standin


def _settings(llm: LlmStandin) -> Settings:
    return load_settings(llm_api_url=llm.url, llm_api_key="k", llm_model="test-model")


def _llm_writer(llm: LlmStandin) -> AnswerWriter:
    settings = _settings(llm)
    return build_answer_writer(settings)


def _prompt(llm: LlmStandin) -> str:
    [request] = llm.requests
    return str(request["messages"][1]["content"])


def test_a_valid_reply_becomes_a_cited_answer(llm: LlmStandin) -> None:
    llm.reply_json(GOOD_REPLY)

    answer = _llm_writer(llm).write(question=SESSION_QUESTION, passages=PASSAGES)

    assert answer == Answer(text=GOOD_ANSWER, cited=(2,), grounded=True, writer="llm:test-model")


def test_citations_of_passages_that_do_not_exist_are_stripped(llm: LlmStandin) -> None:
    llm.reply_json(
        {"answer": "Sessions last 12 hours [2][7], always [9].", "cited": [2, 7, 9], "grounded": True}
    )

    answer = _llm_writer(llm).write(question=SESSION_QUESTION, passages=PASSAGES)

    assert (answer.text, answer.cited) == ("Sessions last 12 hours [2], always.", (2,))


def test_a_grounded_reply_citing_no_existing_passage_is_refused(llm: LlmStandin) -> None:
    llm.reply_json({"answer": "Sessions last 12 hours [5].", "cited": [5], "grounded": True})

    with pytest.raises(LlmError, match="cites none of the passages"):
        _llm_writer(llm).write(question=SESSION_QUESTION, passages=PASSAGES)


def test_a_reply_saying_the_passages_do_not_answer_is_not_grounded(llm: LlmStandin) -> None:
    llm.reply_json({"answer": "The passages do not say.", "cited": [], "grounded": False})

    answer = _llm_writer(llm).write(question="Who won the 2018 World Cup?", passages=PASSAGES)

    assert (answer.grounded, answer.cited, answer.text) == (False, (), "The passages do not say.")


def test_the_prompt_carries_numbered_passages_question_and_thread(llm: LlmStandin) -> None:
    llm.reply_json(GOOD_REPLY)
    history = ["How do I connect to the VPN?", "Open GlobalProtect and use vpn.larkspur.example [1]."]

    _llm_writer(llm).write(question="And how long does it last?", passages=PASSAGES, history=history)

    prompt = _prompt(llm)
    assert f"[1] IT FAQ ({PASSAGES[0].url})\n{PASSAGES[0].text}" in prompt
    assert f"[2] VPN Setup ({PASSAGES[1].url})\n{PASSAGES[1].text}" in prompt
    assert all(message in prompt for message in history)
    assert prompt.index(history[0]) < prompt.index(history[1]) < prompt.rindex("And how long does it last?")


def test_long_passages_are_cut_to_the_prompt_budget(llm: LlmStandin) -> None:
    llm.reply_json(GOOD_REPLY)
    long = [Passage(p.number, p.text + " More words." * 500, p.title, p.url, p.chunk_ids) for p in PASSAGES]
    writer = LlmAnswerWriter(build_llm_client(_settings(llm)), model="test-model", passages_budget_chars=1000)

    writer.write(question=SESSION_QUESTION, passages=long)

    prompt = _prompt(llm)
    assert len(prompt) < 1500
    assert PASSAGES[1].text in prompt and prompt.count("…") == 2


def test_a_rate_limited_request_is_retried(llm: LlmStandin) -> None:
    llm.reply(Scripted(status=429, retry_after=0))
    llm.reply_json(GOOD_REPLY)

    answer = _llm_writer(llm).write(question=SESSION_QUESTION, passages=PASSAGES)

    assert answer.grounded and len(llm.requests) == 2


def test_a_reply_that_is_not_json_is_an_error(llm: LlmStandin) -> None:
    llm.reply(Scripted(content="Sessions last 12 hours [2]."))

    with pytest.raises(LlmError, match="JSON"):
        _llm_writer(llm).write(question=SESSION_QUESTION, passages=PASSAGES)


@pytest.mark.parametrize(
    ("reply", "named"),
    [
        ({"answer": "12 hours [2].", "cited": ["2"], "grounded": True}, "cited.0"),
        ({"answer": "12 hours [2].", "cited": [2]}, "grounded"),
        ({"answer": " ", "cited": [], "grounded": True}, "answer is empty"),
    ],
)
def test_a_reply_of_the_wrong_shape_is_an_error_naming_the_problem(
    llm: LlmStandin, reply: dict[str, object], named: str
) -> None:
    llm.reply(Scripted(content=json.dumps(reply)))

    with pytest.raises(LlmError, match=re.escape(named)):
        _llm_writer(llm).write(question=SESSION_QUESTION, passages=PASSAGES)


def test_the_llm_writer_is_used_only_when_an_llm_is_configured(llm: LlmStandin) -> None:
    assert isinstance(build_answer_writer(load_settings()), ExtractiveWriter)
    assert isinstance(build_answer_writer(load_settings(llm_api_url=llm.url)), LlmAnswerWriter)
