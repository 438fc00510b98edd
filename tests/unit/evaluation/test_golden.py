"""Golden questions: the file format, page-level scoring of what each question produced, and minimums."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.answers.composer import ComposedAnswer
from common.answers.writer import Answer, Passage
from common.errors import GoldenQuestionsError
from common.evaluation.golden import (
    AnswerProbe,
    GoldenQuestion,
    GoldenScores,
    Probe,
    below_minimums,
    golden_event,
    load_golden_questions,
    probe_of,
    score_golden,
)
from common.search.ranking import ScoreParts
from common.search.retriever import SearchResult

VPN = ("1101", "https://larkspur.example/wiki/spaces/HB/pages/1101/VPN+Setup")
FAQ = ("1107", "https://larkspur.example/wiki/spaces/HB/pages/1107/IT+FAQ")
LEAVE = ("1201", "https://larkspur.example/wiki/spaces/HB/pages/1201/Annual+Leave")
HOLIDAYS = ("1212", "https://larkspur.example/wiki/spaces/HB/pages/1212/Public+Holidays+2026")


def _file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "golden.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _question(text: str, *pages: str, decline: bool = False) -> GoldenQuestion:
    return GoldenQuestion(question=text, expected_pages=pages, expect_decline=decline)


def _probe(answers: dict[str, Probe]) -> AnswerProbe:
    return lambda question: answers[question]


# --- the file ------------------------------------------------------------------------------------------


def test_each_line_becomes_a_question_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        json.dumps(
            {"question": "How do I use the VPN?", "expected_pages": ["1101"], "expect_decline": False}
        ),
        "",
        json.dumps({"question": "Can I bring my dog?", "expect_decline": True}),
    )

    assert load_golden_questions(path) == [
        _question("How do I use the VPN?", "1101"),
        _question("Can I bring my dog?", decline=True),
    ]


def test_expect_decline_defaults_to_false(tmp_path: Path) -> None:
    path = _file(tmp_path, json.dumps({"question": "When is payday?", "expected_pages": [HOLIDAYS[1]]}))

    assert load_golden_questions(path)[0].expect_decline is False


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "is not JSON"),
        ('["a list"]', "should be a JSON object"),
        ('{"expected_pages": ["1101"]}', '"question"'),
        ('{"question": "  ", "expected_pages": ["1101"]}', '"question"'),
        ('{"question": "VPN?", "expected_pages": "1101"}', '"expected_pages"'),
        ('{"question": "VPN?", "expected_pages": [1101]}', '"expected_pages"'),
        ('{"question": "VPN?", "expected_pages": ["1101"], "expect_decline": "no"}', '"expect_decline"'),
        ('{"question": "VPN?", "expected_page": ["1101"]}', "unknown key(s) expected_page"),
        ('{"question": "VPN?"}', '"expected_pages"'),
        ('{"question": "Dog?", "expected_pages": ["1101"], "expect_decline": true}', "expects a decline"),
    ],
)
def test_a_line_that_does_not_fit_the_format_is_refused_naming_the_line(
    tmp_path: Path, line: str, problem: str
) -> None:
    path = _file(tmp_path, json.dumps({"question": "Fine?", "expected_pages": ["1101"]}), line)

    with pytest.raises(GoldenQuestionsError) as raised:
        load_golden_questions(path)

    assert f"{path}:2" in str(raised.value) and problem in str(raised.value)


def test_a_file_without_questions_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GoldenQuestionsError, match="has no questions"):
        load_golden_questions(_file(tmp_path, "", "  "))


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(GoldenQuestionsError, match=r"missing\.jsonl does not exist"):
        load_golden_questions(tmp_path / "missing.jsonl")


# --- scoring ---------------------------------------------------------------------------------------------


def test_hit_and_mrr_use_the_rank_of_the_first_expected_page() -> None:
    questions = [_question("vpn", "1101"), _question("leave", "1201")]
    answers = {
        "vpn": Probe(ranked_pages=(FAQ, VPN), cited_pages=(VPN,), declined=False),
        "leave": Probe(ranked_pages=(FAQ, VPN, HOLIDAYS, VPN, LEAVE), cited_pages=(), declined=False),
    }

    scores = score_golden(questions, _probe(answers))

    assert [r.rank for r in scores.per_question] == [2, 5]
    assert (scores.hit_at_1, scores.hit_at_3, scores.hit_at_5) == (0.0, 0.5, 1.0)
    assert scores.mrr_at_5 == pytest.approx((1 / 2 + 1 / 5) / 2)


def test_an_expected_page_can_be_named_by_its_url() -> None:
    answers = {"holidays": Probe(ranked_pages=(LEAVE, HOLIDAYS), cited_pages=(HOLIDAYS,), declined=False)}

    scores = score_golden([_question("holidays", HOLIDAYS[1])], _probe(answers))

    assert (scores.per_question[0].rank, scores.cited) == (2, 1.0)


def test_a_page_ranked_below_five_is_a_miss() -> None:
    ranked = (FAQ, LEAVE, HOLIDAYS, ("1", "u1"), ("2", "u2"), VPN)
    answers = {"vpn": Probe(ranked_pages=ranked, cited_pages=(), declined=False)}

    scores = score_golden([_question("vpn", "1101")], _probe(answers))

    assert (scores.hit_at_5, scores.mrr_at_5) == (0.0, 0.0)


def test_cited_is_the_share_of_answers_citing_an_expected_page() -> None:
    questions = [_question("vpn", "1101", "1107"), _question("leave", "1201")]
    answers = {
        "vpn": Probe(ranked_pages=(VPN, FAQ), cited_pages=(FAQ,), declined=False),
        "leave": Probe(ranked_pages=(LEAVE,), cited_pages=(HOLIDAYS,), declined=False),
    }

    assert score_golden(questions, _probe(answers)).cited == 0.5


def test_declined_is_the_share_of_expect_decline_questions_the_bot_declined() -> None:
    questions = [_question("dog", decline=True), _question("car", decline=True), _question("vpn", "1101")]
    answers = {
        "dog": Probe(ranked_pages=(FAQ,), cited_pages=(), declined=True),
        "car": Probe(ranked_pages=(LEAVE,), cited_pages=(LEAVE,), declined=False),
        "vpn": Probe(ranked_pages=(VPN,), cited_pages=(VPN,), declined=True),
    }

    scores = score_golden(questions, _probe(answers))

    assert (scores.declined, scores.hit_at_1) == (0.5, 1.0)


def test_metrics_with_no_question_to_apply_to_are_none_not_zero() -> None:
    answers = {"vpn": Probe(ranked_pages=(VPN,), cited_pages=(VPN,), declined=False)}

    scores = score_golden([_question("vpn", "1101")], _probe(answers))

    assert scores.declined is None and scores.as_dict()["declined"] is None


def test_as_dict_has_exactly_the_summary_keys_and_the_questions() -> None:
    answers = {"vpn": Probe(ranked_pages=(FAQ, VPN), cited_pages=(VPN,), declined=False)}

    summary = score_golden([_question("vpn", "1101")], _probe(answers)).as_dict()

    assert set(summary) == {"hit@1", "hit@3", "hit@5", "mrr@5", "cited", "declined", "questions"}
    assert summary["questions"] == [
        {
            "question": "vpn",
            "expected_pages": ["1101"],
            "expect_decline": False,
            "rank": 2,
            "cited": True,
            "declined": False,
            "ranked_pages": ["1107", "1101"],
        }
    ]


# --- minimums and the event -------------------------------------------------------------------------------


def _scores(hit: bool, cited: bool) -> GoldenScores:
    ranked = (VPN,) if hit else (FAQ,)
    answers = {"vpn": Probe(ranked_pages=ranked, cited_pages=(VPN,) if cited else (), declined=False)}
    return score_golden([_question("vpn", "1101")], _probe(answers))


def test_each_metric_under_its_minimum_is_named() -> None:
    problems = below_minimums(_scores(hit=False, cited=False), {"hit@3": 0.9, "cited": 0.5})

    assert [p.split()[0] for p in problems] == ["hit@3", "cited"]


def test_metrics_at_or_above_their_minimums_pass() -> None:
    assert below_minimums(_scores(hit=True, cited=True), {"hit@3": 1.0, "cited": 1.0}) == []


def test_a_minimum_on_a_metric_the_file_cannot_measure_fails() -> None:
    answers = {"dog": Probe(ranked_pages=(), cited_pages=(), declined=True)}
    scores = score_golden([_question("dog", decline=True)], _probe(answers))

    assert below_minimums(scores, {"hit@3": 0.5}) == [
        "hit@3 could not be measured (no question in the file it applies to)."
    ]


def test_the_event_names_the_file_and_carries_the_metrics() -> None:
    scores = _scores(hit=True, cited=False)

    event = golden_event(scores, path=Path("/x/golden-questions.jsonl"), run_id="run-1")

    assert (event.dataset, event.mode, event.queries, event.run_id) == (
        "golden:golden-questions.jsonl",
        "hybrid",
        1,
        "run-1",
    )
    assert (event.hit_at_3, event.cited, event.declined) == (1.0, 0.0, None)


# --- what a composed answer shows -------------------------------------------------------------------------


def _result(n: int, page: tuple[str, str]) -> SearchResult:
    return SearchResult(
        chunk_id=f"c{n}",
        chunk_ids=(f"c{n}",),
        text=f"Passage {n}.",
        page_id=page[0],
        page_title=f"Page {page[0]}",
        url=page[1],
        space_key="HB",
        parent_headers=(),
        chunk_type="text",
        owner="priya.raman@larkspur.example",
        updated_at="2026-11-18T16:40:00+00:00",
        reviewed_at=None,
        verified=False,
        classification="internal",
        restricted=False,
        quality_score=50.0,
        scores=ScoreParts(
            dense=1.0,
            keyword=1.0,
            relevance=1.0,
            quality_factor=1.0,
            freshness_bonus=0.0,
            verified_bonus=0.0,
            final=1.0,
        ),
    )


def _composed(pages: list[tuple[str, str]], *, cited: tuple[int, ...], grounded: bool) -> ComposedAnswer:
    results = tuple(_result(n, page) for n, page in enumerate(pages, start=1))
    passages = tuple(
        Passage(number=n, text=r.text, title=r.page_title, url=r.url, chunk_ids=r.chunk_ids)
        for n, r in enumerate(results, start=1)
    )
    answer = Answer(text="An answer.", cited=cited, grounded=grounded, writer="offline")
    return ComposedAnswer(answer=answer, passages=passages, results=results)


def test_a_composed_answer_ranks_each_page_once_and_maps_citations_to_pages() -> None:
    probe = probe_of(_composed([FAQ, VPN, FAQ], cited=(3, 2), grounded=True))

    assert probe == Probe(ranked_pages=(FAQ, VPN), cited_pages=(FAQ, VPN), declined=False)


def test_a_composed_answer_that_found_nothing_is_a_decline() -> None:
    assert probe_of(_composed([VPN], cited=(), grounded=False)).declined is True
